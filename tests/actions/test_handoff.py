"""Handoff actions: urgent alert, form submission, duplicate suppression, no consent."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine

from actions.handoff import (
    CONTACT_SLOTS,
    ActionClearContactDetails,
    ActionNotifyClinicUrgent,
    ActionSubmitHandoff,
    StaffAvailability,
    handoff_reason,
)
from bot import PROJECT_ROOT
from bot.clinic_hours import OpeningHours
from bot.config import load_settings
from bot.contract import LOGISTICS_INTENTS
from bot.db import make_engine
from bot.handoff import HandoffRepository
from tests.actions.conftest import load_tracker, make_tracker, responses, slot_events, user_event

CONSENT_TIME = datetime(2024, 11, 22, 8, 1, 31)  # the consent event in the fixture (UTC)


def sent_with(dispatcher: CollectingDispatcher, response: str) -> dict[str, Any]:
    [message] = [m for m in dispatcher.messages if m.get("response") == response]
    return message


def assert_told(dispatcher: CollectingDispatcher, response: str, reference: str) -> None:
    """The patient got ``response`` alone, naming the request's reference."""
    assert responses(dispatcher) == [response]
    assert sent_with(dispatcher, response)["reference"] == reference


def request_slots(reference: str, reason: str, urgency: str) -> dict[str, str]:
    """The slots an action sets when it opens a request."""
    return {"handoff_reference": reference, "handoff_reason": reason, "handoff_urgency": urgency}


async def test_submit_stores_exactly_one_row_with_the_right_fields(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], repository: HandoffRepository
) -> None:
    tracker = load_tracker("handoff_after_price")

    events = await ActionSubmitHandoff(repository).run(dispatcher, tracker, domain)

    [row] = repository.list_queue(statuses=("open", "contacted", "closed"))
    assert row.sender_id == "patient-42"
    assert row.channel == "socketio"
    assert row.reason == "logistics:ask_price"
    assert row.urgency == "normal"
    assert (row.contact_name, row.contact_channel, row.contact_value, row.contact_time) == (
        "Anna Kowalski",
        "phone",
        "+44 7700 900123",
        "weekday mornings",
    )
    assert row.consent_at == CONSENT_TIME
    assert row.status == "open"
    assert row.status_changed_by is None
    assert row.created_at is not None and row.created_at >= CONSENT_TIME
    assert row.reference.startswith("MA-")

    assert_told(dispatcher, "utter_handoff_submitted", row.reference)
    assert slot_events(events) == request_slots(row.reference, "logistics:ask_price", "normal")


async def test_asking_again_in_the_same_session_does_not_duplicate(
    domain: dict[str, Any], repository: HandoffRepository
) -> None:
    first = CollectingDispatcher()
    events = await ActionSubmitHandoff(repository).run(
        first, load_tracker("handoff_after_price"), domain
    )
    reference = slot_events(events)["handoff_reference"]

    again = CollectingDispatcher()
    tracker = load_tracker("handoff_after_price", handoff_reference=reference)
    events = await ActionSubmitHandoff(repository).run(again, tracker, domain)

    assert len(repository.list_queue()) == 1
    assert_told(again, "utter_handoff_already_open", reference)
    assert slot_events(events)["handoff_reference"] == reference


async def test_open_request_is_found_by_sender_even_without_the_slot(
    domain: dict[str, Any], repository: HandoffRepository
) -> None:
    await ActionSubmitHandoff(repository).run(
        CollectingDispatcher(), load_tracker("handoff_after_price"), domain
    )
    again = CollectingDispatcher()

    await ActionSubmitHandoff(repository).run(again, load_tracker("handoff_after_price"), domain)

    assert len(repository.list_queue()) == 1
    assert responses(again) == ["utter_handoff_already_open"]


async def test_a_closed_request_does_not_block_a_new_one(
    domain: dict[str, Any], repository: HandoffRepository
) -> None:
    events = await ActionSubmitHandoff(repository).run(
        CollectingDispatcher(), load_tracker("handoff_after_price"), domain
    )
    old = repository.get_by_reference(slot_events(events)["handoff_reference"])
    repository.set_status(old.id, "closed", by="nurse.jo")
    dispatcher = CollectingDispatcher()

    tracker = load_tracker("handoff_after_price", handoff_reference=old.reference)
    await ActionSubmitHandoff(repository).run(dispatcher, tracker, domain)

    assert responses(dispatcher) == ["utter_handoff_submitted"]
    assert [r.reference != old.reference for r in repository.list_queue()] == [True]


async def test_without_consent_nothing_is_stored_and_details_are_forgotten(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], repository: HandoffRepository
) -> None:
    tracker = load_tracker("handoff_after_price", contact_consent=False)

    events = await ActionSubmitHandoff(repository).run(dispatcher, tracker, domain)

    assert repository.list_queue(statuses=("open", "contacted", "closed")) == []
    assert responses(dispatcher) == ["utter_no_consent"]
    assert slot_events(events) == {slot: None for slot in CONTACT_SLOTS}
    assert "{clinic_phone}" in domain["responses"]["utter_no_consent"][0]["text"]


async def test_urgent_alert_creates_an_urgent_request_without_contact_details(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], repository: HandoffRepository
) -> None:
    tracker = make_tracker(intent="affirm", text="/affirm", sender_id="patient-urgent")

    events = await ActionNotifyClinicUrgent(repository).run(dispatcher, tracker, domain)

    [row] = repository.list_queue()
    assert (row.sender_id, row.reason, row.urgency, row.status) == (
        "patient-urgent",
        "urgent",
        "urgent",
        "open",
    )
    assert row.channel == "socketio"
    assert row.contact_value is None and row.contact_name is None and row.consent_at is None
    assert_told(dispatcher, "utter_urgent_clinic_notified", row.reference)
    assert slot_events(events) == request_slots(row.reference, "urgent", "urgent")


async def test_contact_details_after_an_urgent_alert_update_the_same_request(
    domain: dict[str, Any], repository: HandoffRepository
) -> None:
    alert = await ActionNotifyClinicUrgent(repository).run(
        CollectingDispatcher(), make_tracker(intent="affirm", sender_id="patient-urgent"), domain
    )
    reference = slot_events(alert)["handoff_reference"]
    dispatcher = CollectingDispatcher()

    tracker = load_tracker("urgent_with_contact", handoff_reference=reference)
    await ActionSubmitHandoff(repository).run(dispatcher, tracker, domain)

    [row] = repository.list_queue()
    assert row.reference == reference
    assert row.urgency == "urgent" and row.reason == "urgent"
    assert (row.contact_name, row.contact_channel, row.contact_value) == (
        "Ben",
        "whatsapp",
        "+34 600 000 123",
    )
    assert row.consent_at is not None
    assert_told(dispatcher, "utter_handoff_contact_added", reference)


async def test_a_second_urgent_report_escalates_the_open_request(
    domain: dict[str, Any], repository: HandoffRepository
) -> None:
    events = await ActionSubmitHandoff(repository).run(
        CollectingDispatcher(), load_tracker("handoff_after_price"), domain
    )
    reference = slot_events(events)["handoff_reference"]
    tracker = make_tracker(intent="affirm", slots={"handoff_reference": reference})

    events = await ActionNotifyClinicUrgent(repository).run(CollectingDispatcher(), tracker, domain)

    [row] = repository.list_queue()
    assert row.reference == reference
    assert row.urgency == "urgent"
    assert slot_events(events)["handoff_urgency"] == "urgent"


def test_urgent_requests_head_the_staff_queue(
    domain: dict[str, Any], repository: HandoffRepository
) -> None:
    older = repository.create(sender_id="a", reason="request_human")
    urgent = repository.create(sender_id="b", reason="urgent", urgency="urgent")
    newer = repository.create(sender_id="c", reason="personal_medical")

    assert [r.reference for r in repository.list_queue()] == [
        urgent.reference,
        older.reference,
        newer.reference,
    ]


@pytest.mark.parametrize(
    ("trigger", "reason"),
    [
        ("personal_medical", "personal_medical"),
        ("request_human", "request_human"),
        ("nlu_fallback", "fallback"),
        ("report_urgent", "urgent"),
        *[(intent, f"logistics:{intent}") for intent in LOGISTICS_INTENTS],
    ],
)
def test_reason_comes_from_the_trigger_before_the_form(trigger: str, reason: str) -> None:
    events = [
        user_event("ask_side_effects", "side effects?"),
        user_event(trigger, "..."),
        user_event("affirm", "/affirm"),
        {"event": "active_loop", "name": "handoff_form"},
        user_event("nlu_fallback", "Zoë"),  # answers inside the form don't count
    ]
    tracker = make_tracker(intent="affirm", events=events)

    assert handoff_reason(tracker) == reason


def test_reason_defaults_to_request_human() -> None:
    assert handoff_reason(make_tracker(intent="affirm")) == "request_human"


def test_an_old_trigger_is_not_the_reason() -> None:
    events = [
        user_event("ask_price", "how much?"),
        user_event("deny", "no thanks"),
        user_event("ask_pain", "does it hurt"),
        user_event("inform", "my number is 07700 900456"),
        user_event("affirm", "yes"),
        {"event": "active_loop", "name": "handoff_form"},
    ]
    tracker = make_tracker(intent="inform", text="Anna", events=events)

    assert handoff_reason(tracker) == "request_human"


async def test_clearing_contact_details_after_stop(
    dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    tracker = make_tracker(intent="stop", slots={"contact_name": "Anna"})

    events = await ActionClearContactDetails().run(dispatcher, tracker, domain)

    assert slot_events(events) == {slot: None for slot in CONTACT_SLOTS}
    assert dispatcher.messages == []


async def test_a_database_failure_still_answers(
    tmp_path, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    # A database without the table: every query fails like an unreachable server.
    broken: Engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")

    events = await ActionSubmitHandoff(HandoffRepository(broken)).run(
        dispatcher, load_tracker("handoff_after_price"), domain
    )
    urgent = CollectingDispatcher()
    urgent_events = await ActionNotifyClinicUrgent(HandoffRepository(broken)).run(
        urgent, make_tracker(intent="affirm"), domain
    )

    assert events == [] and urgent_events == []
    assert responses(dispatcher) == ["utter_action_unavailable"]
    assert responses(urgent) == ["utter_urgent_alert_failed"]


async def test_default_repository_uses_the_app_database_from_settings(
    app_db_url: str, dispatcher: CollectingDispatcher, domain: dict[str, Any]
) -> None:
    await ActionSubmitHandoff().run(dispatcher, load_tracker("handoff_after_price"), domain)

    [row] = HandoffRepository(make_engine(app_db_url)).list_queue()
    assert row.reason == "logistics:ask_price"


# ---- Clinic hours: what the patient is told once the request is stored ---------------
WEEKDAYS_9_TO_6 = OpeningHours.parse(
    {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}, "Europe/Madrid"
)
WEDNESDAY_NOON = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)  # 12:00 in Madrid
FRIDAY_NIGHT = datetime(2026, 12, 4, 21, 0, tzinfo=timezone.utc)  # 22:00 in Madrid


def at(moment: datetime, live_chat: bool = True) -> StaffAvailability:
    return StaffAvailability(WEEKDAYS_9_TO_6, live_chat, clock=lambda: moment)


async def test_outside_clinic_hours_no_live_chat_and_the_next_opening(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], repository: HandoffRepository
) -> None:
    action = ActionSubmitHandoff(repository, availability=at(FRIDAY_NIGHT))
    events = await action.run(dispatcher, load_tracker("handoff_after_price"), domain)

    # The request is stored all the same, so staff call back.
    [row] = repository.list_queue()
    assert slot_events(events)["handoff_reference"] == row.reference
    assert responses(dispatcher) == ["utter_handoff_submitted_closed"]
    sent = sent_with(dispatcher, "utter_handoff_submitted_closed")
    assert (sent["reference"], sent["next_opening"]) == (row.reference, "Monday at 09:00")
    [text] = [v["text"] for v in domain["responses"]["utter_handoff_submitted_closed"]]
    assert "{clinic_hours}" in text and "{next_opening}" in text


async def test_inside_clinic_hours_staff_may_reply_in_the_chat(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], repository: HandoffRepository
) -> None:
    action = ActionSubmitHandoff(repository, availability=at(WEDNESDAY_NOON))
    await action.run(dispatcher, load_tracker("handoff_after_price"), domain)
    assert responses(dispatcher) == ["utter_handoff_submitted_live"]
    [text] = [v["text"] for v in domain["responses"]["utter_handoff_submitted_live"]]
    assert "here in this chat" in text


async def test_inside_hours_without_live_takeover_promises_no_chat(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], repository: HandoffRepository
) -> None:
    action = ActionSubmitHandoff(repository, availability=at(WEDNESDAY_NOON, live_chat=False))
    await action.run(dispatcher, load_tracker("handoff_after_price"), domain)
    assert responses(dispatcher) == ["utter_handoff_submitted"]


async def test_without_opening_hours_the_reply_says_nothing_about_open_or_closed(
    dispatcher: CollectingDispatcher, domain: dict[str, Any], repository: HandoffRepository
) -> None:
    availability = StaffAvailability(None, True, clock=lambda: FRIDAY_NIGHT)
    action = ActionSubmitHandoff(repository, availability=availability)
    await action.run(dispatcher, load_tracker("handoff_after_price"), domain)
    assert responses(dispatcher) == ["utter_handoff_submitted"]
    assert set(sent_with(dispatcher, "utter_handoff_submitted")) >= {"reference"}


def test_availability_comes_from_the_clinic_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic = tmp_path / "clinic.yml"
    clinic.write_text(
        (PROJECT_ROOT / "clinic.yml")
        .read_text(encoding="utf-8")
        .replace(
            'hours: "(placeholder - set hours in clinic.yml)"', "opening_hours:\n  sat: 10:00-14:00"
        )
    )
    monkeypatch.setenv("MESO_CLINIC_CONFIG", str(clinic))
    monkeypatch.setenv("MESO_STAFF_TIMEZONE", "Europe/Madrid")
    monkeypatch.delenv("MESO_RASA_API_TOKEN", raising=False)
    availability = StaffAvailability.from_settings(load_settings())
    assert availability.opening_hours is not None
    assert availability.opening_hours.describe() == "Saturday, 10:00–14:00 (Europe/Madrid)"
    assert availability.live_chat is False
