"""The conversation contract: names shared by the NLU pipeline, the action server,
the Rasa extensions, the staff app, the evaluation scripts and the tests.

Intent names and their groups, slot names, payload keys and session-start detection
are written here once; tests/test_contract.py checks them against domain.yml and data/.
Kept free of Rasa imports so the action server and the staff app can use it cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Parse-data keys added by bot.rasa_ext.fact_ranker.FactRanker.
FACT_RANKING_KEY = "fact_ranking"
QUESTION_PARTS_KEY = "question_parts"
# Fact-ranker classes that are not facts: `uncovered.<topic>` learns questions about a
# topic that the articles don't answer (data/nlu/facts/uncovered.yml). No fact id of
# data/facts starts with it (tests/nlu/test_fact_examples.py).
UNCOVERED_FACT_PREFIX = "uncovered."
# Parse-data key, entity and intent of bot.rasa_ext.language.LanguageDetector.
LANGUAGE_KEY = "meso_language"
LANGUAGE_ENTITY = "language"
OTHER_LANGUAGE_INTENT = "other_language"

# The red-flag guard's intent (bot.rasa_ext.components) and the domain response that
# answers it; a paused conversation still gets it (bot.channels.takeover).
URGENT_INTENT = "report_urgent"
URGENT_CARE_RESPONSE = "utter_urgent_care"

# Live staff takeover (bot.channels.takeover on the Rasa side, bot.staff.takeover in the
# staff app). The staff app calls Rasa's HTTP API with this token; Rasa sends staff
# messages through the output channel of this name.
RASA_API_TOKEN_ENV = "MESO_RASA_API_TOKEN"
TAKEOVER_OUTPUT_CHANNEL = "takeover"
# socket.io event the widget shows as "staff typing…".
STAFF_TYPING_EVENT = "staff_typing"
# `kind` of the custom payloads that follow takeover messages (widget states), and the
# bot-event metadata key that names the staff account behind a message.
TAKEOVER_KIND = "takeover"
STAFF_MESSAGE_KIND = "staff_message"
STAFF_METADATA_KEY = "staff"

# ---- Intents (domain.yml declares them; tests/test_contract.py checks both ways) ----
# One answer intent per fact-base topic: ``ask_<topic>``.
ANSWER_INTENT_PREFIX = "ask_"
FOLLOW_UP_INTENT = "ask_what_about"  # "and the gym?": the previous topic, a new entity
PERSONAL_MEDICAL_INTENT = "personal_medical"
REQUEST_HUMAN_INTENT = "request_human"
OUT_OF_SCOPE_INTENT = "out_of_scope"
FALLBACK_INTENT = "nlu_fallback"  # Rasa's FallbackClassifier
TOO_LONG_INTENT = "message_too_long"  # bot.rasa_ext.components.InputLengthVerdict
SESSION_START_INTENT = "session_start"  # the widget's /session_start
# Clinic logistics: always handed to staff (prices, bookings... are never invented).
LOGISTICS_INTENTS = (
    "ask_price",
    "ask_booking",
    "ask_reschedule",
    "ask_hours",
    "ask_location",
    "ask_insurance",
    "ask_payment",
    "ask_practitioner",
    "ask_clinic_services",
)
# Safety: never answered from the articles, never changed by the fact ranker.
SAFETY_INTENTS = (URGENT_INTENT, PERSONAL_MEDICAL_INTENT)
# Intents that lead to a handoff, and the reason recorded for staff.
HANDOFF_REASONS: dict[str, str] = {
    URGENT_INTENT: "urgent",
    PERSONAL_MEDICAL_INTENT: "personal_medical",
    REQUEST_HUMAN_INTENT: "request_human",
    FALLBACK_INTENT: "fallback",
    **{intent: f"logistics:{intent}" for intent in LOGISTICS_INTENTS},
}
# Set by pipeline components or Rasa itself, never learnt from examples.
RULE_INTENTS = frozenset({FALLBACK_INTENT, TOO_LONG_INTENT, OTHER_LANGUAGE_INTENT})


def answer_intent(topic: str) -> str:
    """The intent that asks about a fact-base topic."""
    return ANSWER_INTENT_PREFIX + topic


def uncovered_fact(topic: str) -> str:
    """The fact-ranker class of a topic's questions that the articles don't answer."""
    return UNCOVERED_FACT_PREFIX + topic


def is_uncovered_fact(fact_id: str) -> bool:
    """Whether a fact-ranking id is an "articles don't cover it" class, not a fact."""
    return fact_id.startswith(UNCOVERED_FACT_PREFIX)


def topic_of(intent: str | None) -> str | None:
    """The fact-base topic an answer intent asks about, or None for any other intent."""
    if not intent or not intent.startswith(ANSWER_INTENT_PREFIX):
        return None
    if intent == FOLLOW_UP_INTENT or intent in LOGISTICS_INTENTS:
        return None
    return intent.removeprefix(ANSWER_INTENT_PREFIX)


# ---- Slots and payloads ----------------------------------------------------------------
TOPIC_SLOT = "topic"  # the topic of the last answer, for follow-ups
# Set after SessionStarted once the disclaimer was shown: Rasa logs an action's messages
# before its SessionStarted event, and the SQL tracker store loads only events since the
# latest one, so later actions can't see the greeting itself.
DISCLAIMER_SLOT = "disclaimer_shown"
GREETING_RESPONSE = "utter_greet_disclaimer"
# `kind` of the custom payload that follows every answer (docs/architecture.md).
ANSWER_META_KIND = "answer_meta"


# ---- Session start ---------------------------------------------------------------------
# Rasa logs its own bookkeeping right after a user message: featurization, slot
# extraction and the slots it sets.
_AFTER_USER_MESSAGE = frozenset({"action_extract_slots"})
_BOOKKEEPING_EVENTS = frozenset({"slot", "user_featurization"})


def session_start_requested(newest_first: Iterable[Mapping[str, Any]]) -> bool:
    """Whether ``action_session_start`` runs for the patient's own ``/session_start``
    (the widget opening), given the tracker's events as dicts, newest first.

    When a session starts because any other message arrived, the action runs before
    that message is logged, so the newest meaningful event is from the old session.
    Used by actions.session and, when the action server is down, by
    bot.rasa_ext.resilience.
    """
    for event in newest_first:
        kind = event.get("event")
        if kind in _BOOKKEEPING_EVENTS or (
            kind == "action" and event.get("name") in _AFTER_USER_MESSAGE
        ):
            continue
        if kind != "user":
            return False
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        return intent == SESSION_START_INTENT
    return False
