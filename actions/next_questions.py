"""Quick-reply buttons for the natural next questions after an answer.

Each button's payload is an intent from docs/architecture.md (optionally with an
entity), so pressing it skips NLU and triggers the right answer:
``/ask_pain`` or ``/ask_aftercare{"activity":"sauna"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.contract import REQUEST_HUMAN_INTENT, answer_intent


@dataclass(frozen=True)
class NextQuestion:
    """A question the patient may want to ask next, as a button."""

    title: str
    intent: str
    entity: tuple[str, str] | None = None  # (kind, canonical value)

    @property
    def payload(self) -> str:
        if self.entity is None:
            return f"/{self.intent}"
        kind, value = self.entity
        return f"/{self.intent}{json.dumps({kind: value}, separators=(',', ':'))}"

    def button(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


# Each topic's button, worded once; a follow-up list names topics, and words a button
# its own way only where the context asks for it ("How long is each one?").
QUESTIONS: dict[str, str] = {
    "what_is": "What is it exactly?",
    "origin": "Where does it come from?",
    "how_it_works": "How does it work?",
    "ingredients": "What's injected?",
    "procedure": "What happens in a session?",
    "pain": "Does it hurt?",
    "session_duration": "How long is a session?",
    "number_of_sessions": "How many sessions?",
    "course_schedule": "How often are sessions?",
    "repeat_course": "When to repeat a course?",
    "results_timeline": "When will I see results?",
    "effectiveness": "Does it really work?",
    "candidates": "Who is it for?",
    "hair_loss_causes": "What causes hair loss?",
    "side_effects": "Any side effects?",
    "safety": "Is it safe?",
    "contraindications": "Who shouldn't have it?",
    "preparation": "How to prepare?",
    "aftercare": "What about aftercare?",
}


def _q(title: str, topic: str, entity: tuple[str, str] | None = None) -> NextQuestion:
    return NextQuestion(title, answer_intent(topic), entity)


def _questions(*items: str | NextQuestion) -> tuple[NextQuestion, ...]:
    """Next questions from topics (their usual button) or ready-made questions."""
    return tuple(_q(QUESTIONS[item], item) if isinstance(item, str) else item for item in items)


# A few questions per topic, most natural first. Entity-specific follow-ups come
# first for aftercare and comparison, where patients ask about one thing at a time.
FOLLOW_UPS: dict[str, tuple[NextQuestion, ...]] = {
    "what_is": _questions("how_it_works", "pain", "number_of_sessions"),
    "origin": _questions("what_is", "how_it_works", "candidates"),
    "how_it_works": _questions("ingredients", "results_timeline", "effectiveness"),
    "ingredients": _questions("how_it_works", "side_effects", "safety"),
    "procedure": _questions("pain", "session_duration", "aftercare"),
    "pain": _questions("procedure", "side_effects", "session_duration"),
    "session_duration": _questions("number_of_sessions", "course_schedule", "pain"),
    "number_of_sessions": _questions(
        _q("How long is each one?", "session_duration"), "course_schedule", "results_timeline"
    ),
    "course_schedule": _questions("repeat_course", "number_of_sessions", "results_timeline"),
    "repeat_course": _questions("results_timeline", "course_schedule", "effectiveness"),
    "results_timeline": _questions("effectiveness", "number_of_sessions", "repeat_course"),
    "effectiveness": _questions(
        "results_timeline",
        "candidates",
        _q("Compared with PRP?", "comparison", ("treatment", "prp")),
    ),
    "candidates": _questions("contraindications", "effectiveness", "hair_loss_causes"),
    "hair_loss_causes": _questions(
        _q("How does it help?", "how_it_works"), "candidates", "effectiveness"
    ),
    "side_effects": _questions("safety", "aftercare", "pain"),
    "safety": _questions("side_effects", "contraindications", "preparation"),
    "contraindications": _questions("safety", "candidates", "preparation"),
    "preparation": _questions("procedure", "aftercare", "pain"),
    "aftercare": _questions(
        _q("Sauna afterwards?", "aftercare", ("activity", "sauna")),
        _q("When can I wash my hair?", "aftercare", ("activity", "hair_washing")),
        _q("Sun afterwards?", "aftercare", ("activity", "sun")),
        _q("Exercise afterwards?", "aftercare", ("activity", "exercise")),
        "side_effects",
    ),
    "scalp_health": _questions("how_it_works", "candidates", "side_effects"),
    "comparison": _questions(
        _q("Compared with PRP?", "comparison", ("treatment", "prp")),
        _q("Compared with a transplant?", "comparison", ("treatment", "hair_transplant")),
        _q("Compared with creams?", "comparison", ("treatment", "topical_products")),
        "effectiveness",
    ),
    "other_uses": _questions("what_is", "origin", "candidates"),
}

ASK_STAFF = NextQuestion("Ask the clinic team", REQUEST_HUMAN_INTENT)
MAX_BUTTONS = 3


def next_questions(
    topic: str,
    qualifiers: dict[str, str] | None = None,
    *,
    offer_staff: bool = False,
    limit: int = MAX_BUTTONS,
) -> list[NextQuestion]:
    """Up to ``limit`` next questions, never repeating the question just answered."""
    asked = {(kind, value) for kind, value in (qualifiers or {}).items()}
    candidates = [
        question
        for question in FOLLOW_UPS.get(topic, ())
        if not (
            question.intent == answer_intent(topic)
            and (question.entity is None or question.entity in asked)
        )
    ]
    chosen = ([ASK_STAFF] if offer_staff else []) + candidates
    return chosen[:limit]


def buttons(questions: list[NextQuestion]) -> list[dict[str, str]]:
    return [question.button() for question in questions]
