"""The query layer (bot.facts.query) against a real SQLite fact base."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.facts.build import build
from bot.facts.contract import ENTITY_VALUES, TOPICS
from bot.facts.query import FactBase, FactBaseMissing
from tests.facts.conftest import FACTS_DIR


def ids(facts: list) -> list[str]:
    return [fact.id for fact in facts]


def test_topics_follow_the_contract_and_all_have_facts(fact_base: FactBase) -> None:
    assert fact_base.topics() == list(TOPICS)
    for topic in TOPICS:
        assert fact_base.facts_for(topic), topic


def test_matching_qualifier_ranks_first_then_neutral_then_other_values(
    fact_base: FactBase,
) -> None:
    ranked = fact_base.facts_for("aftercare", {"activity": "sauna"})
    assert ranked[0].id == "aftercare.sauna_avoid"
    kinds = ["match" if "sauna" in f.values("activity") else
             "neutral" if not f.values("activity") else "other" for f in ranked]  # fmt: skip
    assert kinds == sorted(kinds, key=["match", "neutral", "other"].index)
    # Without qualifiers the highest priority comes first.
    assert fact_base.facts_for("aftercare")[0].priority == max(f.priority for f in ranked)


def test_ties_are_broken_by_priority_and_limit_applies(fact_base: FactBase) -> None:
    ranked = fact_base.facts_for("side_effects", {"side_effect": "nausea"})
    matching = [f for f in ranked if "nausea" in f.values("side_effect")]
    assert ranked[: len(matching)] == matching
    assert [f.priority for f in matching] == sorted((f.priority for f in matching), reverse=True)
    assert len(fact_base.facts_for("side_effects", limit=2)) == 2


def test_qualifiers_accept_surface_forms_and_lists(fact_base: FactBase) -> None:
    assert fact_base.facts_for("aftercare", {"activity": "Steam rooms"}, limit=1)[0].id == (
        "aftercare.sauna_avoid"
    )
    top = fact_base.facts_for("ingredients", {"ingredient": ["zinc", "iron"]}, limit=1)
    assert top[0].id == "ingredients.minerals_zinc_iron"
    phase = fact_base.facts_for("pain", {"phase": "before"}, limit=1)
    assert phase[0].phase == "before"


def test_unknown_topic_or_kind_is_a_clear_error(fact_base: FactBase) -> None:
    with pytest.raises(ValueError, match="unknown topic 'price'"):
        fact_base.facts_for("price")
    with pytest.raises(ValueError, match="unknown qualifier kind"):
        fact_base.facts_for("aftercare", {"mood": "happy"})


@pytest.mark.parametrize(
    ("kind", "surface", "value"),
    [
        ("activity", "Saunas", "sauna"),
        ("activity", "the steam room", "sauna"),
        ("activity", "can I wash my hair", "hair_washing"),
        ("activity", "dry shampoos", "dry_shampoo"),
        ("activity", "going to the gym", "exercise"),
        ("activity", "sunbeds", "sun"),
        ("ingredient", "Vitamin B12", "vitamin_b12"),
        ("ingredient", "amino-acids", "amino_acids"),
        ("ingredient", "biotin", "biotin"),
        ("side_effect", "bruises", "bruising"),
        ("side_effect", "headaches", "headache"),
        ("treatment", "platelet rich plasma", "prp"),
        ("treatment", "hair transplants", "hair_transplant"),
        ("condition", "blood thinners", "blood_thinners"),
        ("activity", "hair_washing", "hair_washing"),
        ("activity", "knitting", None),
    ],
)
def test_resolve_is_tolerant_of_case_plural_and_lemma(
    fact_base: FactBase, kind: str, surface: str, value: str | None
) -> None:
    assert fact_base.resolve(kind, surface) == value


def test_about_is_synonym_aware_and_cites_sources(fact_base: FactBase) -> None:
    facts = fact_base.about("steam room")
    assert facts[0].id == "aftercare.sauna_avoid"
    assert facts[0].citations[0].source.publisher == "Healthcare Business Today"
    prp = ids(fact_base.about("platelet-rich plasma"))
    assert prp[:3] == [
        "comparison.prp",
        "comparison.prp_limits",
        "contraindications.prp_autoimmune_note",
    ]
    assert "comparison.topical_products" not in prp
    assert "how_it_works.collagen_elastin" in ids(fact_base.about("collagen"))
    assert fact_base.about("the") == []


def test_vocabulary_lists_every_contract_value(fact_base: FactBase) -> None:
    for kind, values in ENTITY_VALUES.items():
        vocabulary = fact_base.vocabulary(kind)
        assert list(vocabulary) == list(values)
        for entry in vocabulary.values():
            assert entry.label and entry.synonyms
            assert entry.has_facts or entry.related or entry.related_topics, entry


def test_values_without_facts_point_to_related_facts(fact_base: FactBase) -> None:
    swimming = fact_base.vocabulary("activity")["swimming"]
    assert not swimming.has_facts
    assert ("activity", "hair_washing") in swimming.related
    related = ids(fact_base.related_facts("activity", "swimming"))
    assert related[0] == "aftercare.hair_washing_wait"
    assert "aftercare.sauna_avoid" in related
    aspirin = ids(fact_base.related_facts("condition", "aspirin"))
    assert aspirin[0] == "preparation.no_aspirin_nsaids"


def test_sources_metadata(fact_base: FactBase) -> None:
    assert [s.id for s in fact_base.sources()] == [
        "comprehensive-guide",
        "healthcare-business-today",
        "what-is-mesotherapy",
        "vizox-clinique",
        "capillary-infiltration",
    ]
    vizox = fact_base.source("vizox-clinique")
    assert (vizox.publisher, vizox.label) == ("Vizox Clinique", "Vizox Clinique")
    assert fact_base.source("capillary-infiltration").date == "2024-07-14"
    with pytest.raises(KeyError, match="unknown source id"):
        fact_base.source("nope")


def test_missing_database_says_how_to_build_it(tmp_path: Path) -> None:
    db = tmp_path / "facts.db"
    with pytest.raises(
        FactBaseMissing, match=r"fact base not built at sqlite:///.*python -m bot facts build"
    ):
        FactBase(create_engine(f"sqlite:///{db}"))
    assert not db.exists()  # checking must not create an empty database


def test_empty_database_is_missing_too(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    with pytest.raises(FactBaseMissing):
        FactBase(create_engine(f"sqlite:///{db}"))


def test_a_rebuild_is_picked_up_without_restarting(tmp_path: Path, facts_copy: Path) -> None:
    url = f"sqlite:///{tmp_path / 'facts.db'}"
    build(FACTS_DIR, url, echo=lambda _line: None)
    fact_base = FactBase(create_engine(url))
    assert fact_base.fact("aftercare.test_fact") is None
    (facts_copy / "extra.yml").write_text(
        "facts:\n  - id: aftercare.test_fact\n    topic: aftercare\n"
        "    text: One article says test.\n"
        "    sources:\n      - id: vizox-clinique\n        evidence: [sun]\n"
    )
    build(facts_copy, url, echo=lambda _line: None)
    assert fact_base.fact("aftercare.test_fact") is not None


def test_from_settings_shares_one_instance(monkeypatch: pytest.MonkeyPatch, built_db: str) -> None:
    from bot.config import load_settings

    monkeypatch.setenv("MESO_FACTS_DB_URL", built_db)
    settings = load_settings()
    assert FactBase.from_settings(settings) is FactBase.from_settings(settings)
