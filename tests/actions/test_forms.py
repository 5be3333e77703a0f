"""validate_handoff_form: each contact detail checked, wrong formats asked again."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateHandoffForm
from tests.actions.conftest import make_tracker, responses, slot_events

FORM = {"name": "handoff_form"}


async def run_form_validation(
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
    requested: str,
    text: str,
    slots: dict[str, Any] | None = None,
    value: Any = None,
    intent: str = "inform",
) -> dict[str, Any]:
    """Run the validation action as Rasa does after the user answered ``requested``."""
    tracker = make_tracker(
        intent=intent,
        text=text,
        slots={**(slots or {}), "requested_slot": requested},
        active_loop="handoff_form",
        candidates={requested: text if value is None else value},
    )
    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)
    return slot_events(events)


async def test_name_is_accepted_and_next_slot_requested(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_name", "my name is Anna Kowalski"
    )

    assert slots["contact_name"] == "Anna Kowalski"
    assert responses(dispatcher) == []


async def test_a_question_is_not_taken_as_a_name(dispatcher, domain) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_name", "does it hurt a lot?")

    assert slots["contact_name"] is None
    assert responses(dispatcher) == ["utter_invalid_contact_name"]


@pytest.mark.parametrize(
    ("text", "channel"),
    [("phone", "phone"), ("Email", "email"), ("whatsapp", "whatsapp"), ("call me", "phone")],
)
async def test_channel_buttons_and_words(dispatcher, domain, text: str, channel: str) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_channel", text)

    assert slots["contact_channel"] == channel
    assert "contact_value" not in slots


async def test_unknown_channel_is_asked_again(dispatcher, domain) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_channel", "carrier pigeon")

    assert slots["contact_channel"] is None
    assert responses(dispatcher) == ["utter_invalid_contact_channel"]


async def test_channel_answer_with_an_email_fills_both(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_channel", "email me at anna@example.com"
    )

    assert slots["contact_channel"] == "email"
    assert slots["contact_value"] == "anna@example.com"


async def test_good_phone_is_accepted(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", "+44 7700 900123", {"contact_channel": "phone"}
    )

    assert slots["contact_value"] == "+44 7700 900123"
    assert responses(dispatcher) == []


@pytest.mark.parametrize("bad", ["07", "my number is secret", "call me maybe", "12 34"])
async def test_bad_phone_is_asked_again_with_an_example(dispatcher, domain, bad: str) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", bad, {"contact_channel": "phone"}
    )

    assert slots["contact_value"] is None
    assert responses(dispatcher) == ["utter_invalid_phone"]
    example = domain["responses"]["utter_invalid_phone"][0]["text"]
    assert "+44 7700 900123" in example


async def test_whatsapp_needs_a_phone_number(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", "anna", {"contact_channel": "whatsapp"}
    )

    assert slots["contact_value"] is None
    assert responses(dispatcher) == ["utter_invalid_phone"]


async def test_good_email_is_accepted(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", "it's anna.k@gmail.com", {"contact_channel": "email"}
    )

    assert slots["contact_value"] == "anna.k@gmail.com"
    assert responses(dispatcher) == []


@pytest.mark.parametrize("bad", ["anna at gmail dot com", "anna@gmail", "no idea"])
async def test_bad_email_is_asked_again_with_an_example(dispatcher, domain, bad: str) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", bad, {"contact_channel": "email"}
    )

    assert slots["contact_value"] is None
    assert responses(dispatcher) == ["utter_invalid_email"]
    assert "name@example.com" in domain["responses"]["utter_invalid_email"][0]["text"]


async def test_a_number_given_for_email_switches_to_phone(dispatcher, domain) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_value", "just call 07700 900456", {"contact_channel": "email"}
    )

    assert slots["contact_channel"] == "phone"
    assert slots["contact_value"] == "07700 900456"


async def test_best_time_is_kept_as_typed(dispatcher, domain) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_time", "weekday mornings")

    assert slots["contact_time"] == "weekday mornings"


@pytest.mark.parametrize(("intent", "value"), [("affirm", True), ("deny", False)])
async def test_consent_buttons(dispatcher, domain, intent: str, value: bool) -> None:
    slots = await run_form_validation(
        dispatcher, domain, "contact_consent", f"/{intent}", value=value, intent=intent
    )

    assert slots["contact_consent"] is value
    assert responses(dispatcher) == []


async def test_unclear_consent_is_asked_again(dispatcher, domain) -> None:
    slots = await run_form_validation(dispatcher, domain, "contact_consent", "what for?")

    assert slots["contact_consent"] is None
    assert responses(dispatcher) == ["utter_invalid_contact_consent"]


async def test_complete_form_requests_no_further_slot(dispatcher, domain) -> None:
    filled = {
        "contact_name": "Anna",
        "contact_channel": "phone",
        "contact_value": "+44 7700 900123",
        "contact_time": "mornings",
    }
    slots = await run_form_validation(
        dispatcher, domain, "contact_consent", "/affirm", filled, value=True, intent="affirm"
    )

    assert slots["contact_consent"] is True
    # No requested_slot override: Rasa's form action sees every slot filled and ends.
    assert "requested_slot" not in slots
