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


def _q(title: str, topic: str, entity: tuple[str, str] | None = None) -> NextQuestion:
    return NextQuestion(title, answer_intent(topic), entity)


# A few questions per topic, most natural first. Entity-specific follow-ups come
# first for aftercare and comparison, where patients ask about one thing at a time.
FOLLOW_UPS: dict[str, tuple[NextQuestion, ...]] = {
    "what_is": (_q("How does it work?", "how_it_works"), _q("Does it hurt?", "pain"),
                _q("How many sessions?", "number_of_sessions")),
    "origin": (_q("What is it exactly?", "what_is"), _q("How does it work?", "how_it_works"),
               _q("Who is it for?", "candidates")),
    "how_it_works": (_q("What's injected?", "ingredients"),
                     _q("When will I see results?", "results_timeline"),
                     _q("Does it really work?", "effectiveness")),
    "ingredients": (_q("How does it work?", "how_it_works"),
                    _q("Any side effects?", "side_effects"), _q("Is it safe?", "safety")),
    "procedure": (_q("Does it hurt?", "pain"), _q("How long is a session?", "session_duration"),
                  _q("What about aftercare?", "aftercare")),
    "pain": (_q("What happens in a session?", "procedure"),
             _q("Any side effects?", "side_effects"),
             _q("How long is a session?", "session_duration")),
    "session_duration": (_q("How many sessions?", "number_of_sessions"),
                         _q("How often are sessions?", "course_schedule"),
                         _q("Does it hurt?", "pain")),
    "number_of_sessions": (_q("How long is each one?", "session_duration"),
                           _q("How often are sessions?", "course_schedule"),
                           _q("When will I see results?", "results_timeline")),
    "course_schedule": (_q("When to repeat a course?", "repeat_course"),
                        _q("How many sessions?", "number_of_sessions"),
                        _q("When will I see results?", "results_timeline")),
    "repeat_course": (_q("When will I see results?", "results_timeline"),
                      _q("How often are sessions?", "course_schedule"),
                      _q("Does it really work?", "effectiveness")),
    "results_timeline": (_q("Does it really work?", "effectiveness"),
                         _q("How many sessions?", "number_of_sessions"),
                         _q("When to repeat a course?", "repeat_course")),
    "effectiveness": (_q("When will I see results?", "results_timeline"),
                      _q("Who is it for?", "candidates"), _q("Compared with PRP?", "comparison",
                      ("treatment", "prp"))),
    "candidates": (_q("Who shouldn't have it?", "contraindications"),
                   _q("Does it really work?", "effectiveness"),
                   _q("What causes hair loss?", "hair_loss_causes")),
    "hair_loss_causes": (_q("How does it help?", "how_it_works"),
                         _q("Who is it for?", "candidates"),
                         _q("Does it really work?", "effectiveness")),
    "side_effects": (_q("Is it safe?", "safety"), _q("What about aftercare?", "aftercare"),
                     _q("Does it hurt?", "pain")),
    "safety": (_q("Any side effects?", "side_effects"),
               _q("Who shouldn't have it?", "contraindications"),
               _q("How to prepare?", "preparation")),
    "contraindications": (_q("Is it safe?", "safety"), _q("Who is it for?", "candidates"),
                          _q("How to prepare?", "preparation")),
    "preparation": (_q("What happens in a session?", "procedure"),
                    _q("What about aftercare?", "aftercare"), _q("Does it hurt?", "pain")),
    "aftercare": (_q("Sauna afterwards?", "aftercare", ("activity", "sauna")),
                  _q("When can I wash my hair?", "aftercare", ("activity", "hair_washing")),
                  _q("Sun afterwards?", "aftercare", ("activity", "sun")),
                  _q("Exercise afterwards?", "aftercare", ("activity", "exercise")),
                  _q("Any side effects?", "side_effects")),
    "scalp_health": (_q("How does it work?", "how_it_works"), _q("Who is it for?", "candidates"),
                     _q("Any side effects?", "side_effects")),
    "comparison": (_q("Compared with PRP?", "comparison", ("treatment", "prp")),
                   _q("Compared with a transplant?", "comparison",
                      ("treatment", "hair_transplant")),
                   _q("Compared with creams?", "comparison", ("treatment", "topical_products")),
                   _q("Does it really work?", "effectiveness")),
    "other_uses": (_q("What is it exactly?", "what_is"), _q("Where does it come from?", "origin"),
                   _q("Who is it for?", "candidates")),
}  # fmt: skip

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
