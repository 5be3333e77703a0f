"""action_session_start: greeting with the disclaimer, slots carried over."""

from __future__ import annotations

import time
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart
from tests.actions.conftest import make_tracker, responses, user_event


async def test_session_start_greets_with_the_disclaimer(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(intent="session_start", text="/session_start")

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_greet_disclaimer"]
    assert events[0]["event"] == "session_started"
    assert events[-1]["event"] == "action"
    assert events[-1]["name"] == "action_listen"


async def test_session_start_carries_over_slots_but_not_the_form_question(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(
        slots={
            "topic": "aftercare",
            "handoff_reference": "MA-ABC234",
            "requested_slot": "contact_name",
            "activity": None,
        }
    )

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    carried = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert carried == {"topic": "aftercare", "handoff_reference": "MA-ABC234"}
    # Slots must follow session_started, which resets the tracker.
    assert [e["event"] for e in events] == ["session_started", "slot", "slot", "action"]


async def test_session_start_respects_carry_over_off(dispatcher: CollectingDispatcher) -> None:
    domain = {"session_config": {"carry_over_slots_to_new_session": False}}
    tracker = make_tracker(
        intent="session_start", text="/session_start", slots={"topic": "aftercare"}
    )

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert [e["event"] for e in events] == ["session_started", "action"]
    assert responses(dispatcher) == ["utter_greet_disclaimer"]


def test_domain_keeps_sessions_for_an_hour_and_carries_slots(domain: dict[str, Any]) -> None:
    assert domain["session_config"] == {
        "session_expiration_time": 60,
        "carry_over_slots_to_new_session": True,
    }


def greeting_event(timestamp: float) -> dict[str, Any]:
    return {
        "event": "bot",
        "timestamp": timestamp,
        "text": "Hi, ...",
        "metadata": {"utter_action": "utter_greet_disclaimer"},
    }


async def test_widget_session_start_payload_does_not_greet_twice(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    # Rasa already ran the session start for the new tracker (with the greeting),
    # then the widget's /session_start intent runs it again.
    now = time.time()
    events = [
        {"event": "action", "timestamp": now - 1, "name": "action_session_start"},
        greeting_event(now - 1),
        {"event": "session_started", "timestamp": now - 1},
        {"event": "action", "timestamp": now - 1, "name": "action_listen"},
    ]
    tracker = make_tracker(intent="session_start", text="/session_start", events=events)

    result = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == []
    assert [e["event"] for e in result] == ["session_started", "action"]


async def test_greets_again_after_the_patient_spoke(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    now = time.time()
    events = [greeting_event(now - 30), user_event("ask_pain", "does it hurt")]
    tracker = make_tracker(intent="session_start", text="/session_start", events=events)

    await ActionSessionStart().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_greet_disclaimer"]


async def test_greets_again_when_the_old_greeting_is_from_an_expired_session(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    two_hours_ago = time.time() - 2 * 3600
    tracker = make_tracker(intent="session_start", events=[greeting_event(two_hours_ago)])

    await ActionSessionStart().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_greet_disclaimer"]


async def test_implicit_session_start_does_not_greet(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    # A patient's first REST/WhatsApp message starts the session before Rasa has read
    # it; it may be an urgent report, whose advice must be the first reply.
    tracker = Tracker(
        sender_id="new-patient",
        slots={},
        latest_message={},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == []
    assert [e["event"] for e in events] == ["session_started", "action"]


async def test_widget_session_start_is_recognised_after_rasas_slot_extraction(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    # What Rasa really logs: the user's /session_start, then action_extract_slots.
    tracker = make_tracker(intent="session_start", text="/session_start")
    tracker.events.append(
        {"event": "action", "name": "action_extract_slots", "timestamp": time.time()}
    )

    await ActionSessionStart().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_greet_disclaimer"]
