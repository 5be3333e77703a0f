"""The fixed ids from docs/architecture.md that the fact base must use.

Kept in code so the build can reject a typo in a YAML file; a test compares these
tuples with the architecture page so the two cannot drift apart.
"""

from __future__ import annotations

# Order matters: it is the order topics are listed in (staff app, docs, coverage).
TOPICS: tuple[str, ...] = (
    "what_is",
    "origin",
    "how_it_works",
    "ingredients",
    "procedure",
    "pain",
    "session_duration",
    "number_of_sessions",
    "course_schedule",
    "repeat_course",
    "results_timeline",
    "effectiveness",
    "candidates",
    "hair_loss_causes",
    "side_effects",
    "safety",
    "contraindications",
    "preparation",
    "aftercare",
    "scalp_health",
    "comparison",
    "other_uses",
)

ENTITY_VALUES: dict[str, tuple[str, ...]] = {
    "activity": (
        "sauna",
        "sun",
        "alcohol",
        "hair_washing",
        "dry_shampoo",
        "styling_products",
        "head_massage",
        "exercise",
        "diet",
        "hair_products",
        "daily_activities",
        "swimming",
        "hair_dye",
        "smoking",
    ),
    "ingredient": (
        "vitamins",
        "biotin",
        "vitamin_b12",
        "minerals",
        "zinc",
        "iron",
        "amino_acids",
        "minoxidil",
        "finasteride",
        "dutasteride",
        "buflomedil",
        "organic_silicium",
        "antioxidants",
        "enzymes",
        "hyaluronic_acid",
        "peptides",
    ),
    "side_effect": (
        "redness",
        "swelling",
        "pain",
        "bruising",
        "infection",
        "allergic_reaction",
        "scarring",
        "nausea",
        "vomiting",
        "itching",
        "sensitivity",
        "burns",
        "necrosis",
        "pimples",
        "hair_loss",
        "headache",
    ),
    "treatment": ("prp", "hair_transplant", "topical_products", "microneedling"),
    "condition": (
        "pregnancy",
        "breastfeeding",
        "trying_to_conceive",
        "blood_thinners",
        "aspirin",
        "heart_condition",
        "isotretinoin",
        "finasteride_use",
        "autoimmune",
        "diabetes",
        "thyroid",
        "blood_pressure",
        "allergy",
        "under_18",
        "keloids",
        "scalp_infection",
        "psoriasis",
        "chemotherapy",
        "clotting_disorder",
        "alopecia_areata",
        "chronic_condition",
    ),
}

# Entity kinds a fact may be qualified by (the `condition` kind is used for facts
# that are explicitly about a condition, e.g. the PRP eligibility note).
QUALIFIER_KINDS: tuple[str, ...] = tuple(ENTITY_VALUES)

PHASES: tuple[str, ...] = ("before", "after")

# What a fact claims, when it claims something one-sided (docs/facts.md, "Fact claims"):
# a benefit never answers a personal condition; risks come first in safety answers.
CLAIMS: tuple[str, ...] = ("benefit", "risk")

SPAN_UNITS: tuple[str, ...] = ("minutes", "hours", "days", "weeks", "months", "years", "sessions")

# Default topic for a bare entity ("and biotin?") when there is no previous topic.
KIND_TOPIC: dict[str, str] = {
    "activity": "aftercare",
    "ingredient": "ingredients",
    "side_effect": "side_effects",
    "treatment": "comparison",
}

# Top-level YAML keys that make Rasa treat a file under data/ as training data
# (rasa.shared.utils.io.is_key_in_yaml checks every line, indented or not).
RASA_TRAINING_KEYS: tuple[str, ...] = ("nlu", "responses", "stories", "rules")
