"""action_session_start: greeting with the disclaimer, slots carried over."""

from __future__ import annotations

import time
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart
from tests.actions.conftest import make_tracker, responses


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

    assert [e["event"] for e in events] == ["session_started", "slot", "action"]
    assert responses(dispatcher) == ["utter_greet_disclaimer"]


def test_domain_keeps_sessions_for_an_hour_and_carries_slots(domain: dict[str, Any]) -> None:
    assert domain["session_config"] == {
        "session_expiration_time": 60,
        "carry_over_slots_to_new_session": True,
    }


async def test_widget_reconnect_in_the_same_session_does_not_greet_twice(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(
        intent="session_start", text="/session_start", slots={"disclaimer_shown": True}
    )

    result = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == []
    # The new SessionStarted resets slots, so the flag is set again after it.
    assert [e["event"] for e in result] == ["session_started", "slot", "action"]
    assert result[1]["name"] == "disclaimer_shown" and result[1]["value"] is True


async def test_greeting_sets_the_disclaimer_flag_after_session_started(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(intent="session_start", text="/session_start")

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_greet_disclaimer"]
    flags = [e for e in events if e["event"] == "slot" and e["name"] == "disclaimer_shown"]
    assert flags and flags[0]["value"] is True
    assert events.index(flags[0]) > 0  # after session_started, which resets slots


async def test_disclaimer_flag_is_not_carried_into_a_new_session(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(slots={"disclaimer_shown": True, "topic": "pain"})
    tracker.latest_message = {}
    tracker.events.clear()

    events = await ActionSessionStart().run(dispatcher, tracker, domain)

    carried = {e["name"] for e in events if e["event"] == "slot"}
    assert "topic" in carried


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
