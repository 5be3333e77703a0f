"""``action_personal_medical_context``: general article facts for a personal situation.

Runs between ``utter_cannot_give_personal_advice`` and ``utter_offer_handoff`` (see
data/rules/handoff.yml). For "I take blood thinners, can I have it?" it may add what
the articles say in general ("the articles advise avoiding aspirin and NSAIDs the
week before"), framed as general information, and it never suggests changing a
medicine. With no recognised condition or no safe related fact it sends nothing:
the two domain responses around it already make a complete reply.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answering import answer_meta
from actions.fact_base_action import FactBaseAction
from actions.qualifiers import detect_qualifiers
from bot.facts.query import Fact, FactBase

CONDITION = "condition"
MAX_FACTS = 2
REASSURING_TOPICS = frozenset({"safety"})

INTRO = "In general, not about you personally, the articles say:"
# Conditions treated with medicines the patient must not change on their own.
MEDICINE_CONDITIONS = frozenset(
    {
        "blood_thinners",
        "aspirin",
        "heart_condition",
        "isotretinoin",
        "finasteride_use",
        "blood_pressure",
        "diabetes",
        "thyroid",
        "autoimmune",
        "chemotherapy",
        "clotting_disorder",
        "chronic_condition",
    }
)
# Said BEFORE the facts, so it is read first.
MEDICINE_NOTE = "Please don't change how you take any prescribed medicine without your doctor."

# Fact wording that could read as permission to stop or change a treatment. Such a
# fact is fine in a general answer but never next to a patient's own medication.
_CHANGE_TREATMENT = re.compile(
    r"\b(stop|stops|stopped|stopping|discontinue\w*|come off|coming off|pause\w*|"
    r"quit\w*|skip\w*|reduce your|lower your|change your)\b",
    re.I,
)


def safe_for_personal_context(fact: Fact) -> bool:
    """Whether a fact can be shown next to a patient's own condition."""
    return not _CHANGE_TREATMENT.search(fact.text)


class PersonalContextFinder:
    """Finds the general facts the articles give about a condition."""

    def __init__(self, fact_base: FactBase) -> None:
        self.fb = fact_base

    def condition(self, entities: list[dict[str, Any]], text: str | None) -> str | None:
        """The condition named in this message (not an older one from the slot)."""
        return detect_qualifiers(self.fb, entities, text, kinds=(CONDITION,)).get(CONDITION)

    def facts(self, condition: str) -> list[Fact]:
        """One fact about the condition itself, then the curated related facts.

        Skipped: facts written for a different condition (the PRP note on autoimmune
        disease would only confuse next to "I'm pregnant"), and reassurance topics
        ("generally considered safe" would read as "safe for you").
        """
        entry = self.fb.vocabulary(CONDITION).get(condition)
        if entry is None:
            return []
        own = [fact for fact_id in entry.fact_ids if (fact := self.fb.fact(fact_id))][:1]
        related = [
            fact
            for fact in self.fb.related_facts(CONDITION, condition)
            if fact.topic not in REASSURING_TOPICS
            and (condition in fact.values(CONDITION) or not fact.values(CONDITION))
        ]
        unique = list({fact.id: fact for fact in own + related}.values())
        return [fact for fact in unique if safe_for_personal_context(fact)][:MAX_FACTS]


class ActionPersonalMedicalContext(FactBaseAction):
    """Add general, cited article facts related to the patient's condition, if any."""

    def name(self) -> str:
        return "action_personal_medical_context"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        message = tracker.latest_message or {}
        finder = PersonalContextFinder(self.fact_base)
        condition = finder.condition(list(message.get("entities") or []), message.get("text"))
        facts = finder.facts(condition) if condition else []
        if not facts:
            return []
        intro = f"{MEDICINE_NOTE} {INTRO}" if condition in MEDICINE_CONDITIONS else INTRO
        composed = self.composer.compose(facts, intro=intro)
        for text in composed.messages:
            dispatcher.utter_message(text=text)
        dispatcher.utter_message(json_message=answer_meta(facts[0].topic, composed))
        return []
