"""The handoff form meets patients where they are (issue #20, part 7), over REST on the
real stack: typed numbers and addresses at any step, typed channel words, a question in
the middle of the form, and exactly one prompt per turn."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.integration.helpers import domain_responses, starts_with_response
from tests.stack import Stack, dump, texts

pytestmark = pytest.mark.integration


def handoff_rows(stack: Stack, sender: str) -> list[dict]:
    engine = sa.create_engine(stack.app_db_url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT * FROM handoff_requests WHERE sender_id = :s"), {"s": sender}
        ).mappings()
        found = [dict(row) for row in rows]
    engine.dispose()
    return found


def stored_events_text(stack: Stack, sender: str) -> str:
    """Everything the tracker store keeps of a conversation, as one string."""
    engine = sa.create_engine(stack.tracker_db_url)
    with engine.connect() as connection:
        stored = " ".join(
            row[0]
            for row in connection.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :s"), {"s": sender}
            )
        )
    engine.dispose()
    return stored


def first_question(slot: str) -> str:
    """The opening of the form's plain question (the variation with no condition)."""
    [plain] = [v for v in domain_responses()[f"utter_ask_{slot}"] if "condition" not in v]
    return plain["text"][:40]


def one_prompt(reply: list[dict]) -> str:
    """The turn's single message: a form turn never adds an error before the question."""
    assert len(reply) == 1, dump(reply)
    return reply[0]["text"]


def test_a_number_typed_at_the_method_question_reaches_the_confirmation(stack: Stack) -> None:
    sender = "form-typed-phone"
    asked_name = one_prompt(stack.send("I want to talk to a real person", sender))
    assert asked_name.startswith(first_question("contact_name"))
    method = stack.send("Maria", sender)
    assert one_prompt(method).startswith(first_question("contact_channel"))
    assert [b["title"] for b in method[0]["buttons"]] == ["Phone", "Email", "WhatsApp"]

    # The number answers the method and the number at once: the time comes next.
    asked_time = one_prompt(stack.send("+34 612 345 678", sender))
    assert asked_time.startswith(first_question("contact_time")), asked_time
    asked_consent = one_prompt(stack.send("weekday mornings", sender))
    assert starts_with_response(asked_consent, "utter_ask_contact_consent"), asked_consent
    done = stack.send("/affirm", sender)

    [row] = handoff_rows(stack, sender)
    assert row["reference"] in one_prompt(done)
    assert (row["contact_name"], row["contact_channel"]) == ("Maria", "phone")
    assert row["contact_value"] == "+34 612 345 678"
    assert row["contact_time"] == "weekday mornings"
    assert row["consent_at"] is not None


def test_a_question_mid_form_is_answered_and_the_form_resumes(stack: Stack) -> None:
    sender = "form-mid-question"
    stack.send("can someone from the clinic contact me?", sender)
    stack.send("Anna", sender)

    reply = stack.send("does it hurt though?", sender)
    # The answer from the fact base (with its sources), then the same question again,
    # once, and no complaint that the question wasn't a contact method.
    assert "Sources:" in texts(reply), dump(reply)
    prompts = [m for m in reply if m.get("text", "").startswith(first_question("contact_channel"))]
    assert len(prompts) == 1 and reply[-1] is prompts[0], dump(reply)
    assert "didn't catch" not in texts(reply)

    asked_address = one_prompt(stack.send("email is fine", sender))
    assert asked_address.startswith("What email address"), asked_address
    assert one_prompt(stack.send("anna@example.com", sender)).startswith(
        first_question("contact_time")
    )
    stack.send("after 5pm", sender)
    done = stack.send("/affirm", sender)

    [row] = handoff_rows(stack, sender)
    assert row["reference"] in texts(done)
    assert (row["contact_channel"], row["contact_value"]) == ("email", "anna@example.com")
    assert row["reason"] == "request_human"  # the question inside the form is no reason


def test_a_typed_method_word_and_an_address_given_for_the_name(stack: Stack) -> None:
    sender = "form-words"
    stack.send("talk to a human please", sender)
    # An address where the name was asked: kept, and only the name is asked for.
    noted = one_prompt(stack.send("lea@example.com", sender))
    assert "noted" in noted and "name" in noted, noted
    # The channel and address are known, so the time comes next.
    assert one_prompt(stack.send("Lea", sender)).startswith(first_question("contact_time"))

    sender = "form-whatsapp-words"
    for message in ("talk to a human please", "Ben"):
        stack.send(message, sender)
    asked_number = one_prompt(stack.send("whatsapp pls", sender))
    assert asked_number.startswith("What's your WhatsApp number"), asked_number
    reask = one_prompt(stack.send("612 34", sender))
    assert reask.startswith("That doesn't look like a phone number"), reask
    asked_time = one_prompt(stack.send("0034 612 345 678", sender))
    assert asked_time.startswith(first_question("contact_time")), asked_time


def test_a_number_typed_at_the_method_question_is_erased_when_consent_is_declined(
    stack: Stack,
) -> None:
    sender = "form-typed-phone-declined"
    for message in ("talk to a human please", "Karima", "+34 612 345 678", "after 6"):
        stack.send(message, sender)
    reply = stack.send("/deny", sender)
    assert starts_with_response(one_prompt(reply), "utter_no_consent"), dump(reply)
    assert handoff_rows(stack, sender) == []
    stored = stored_events_text(stack, sender)
    for secret in ("612 345 678", "612345678", "Karima"):
        assert secret not in stored, secret


def noted_question(slot: str) -> str:
    """The opening of the question asked after a number or address was kept."""
    [noted] = [
        v
        for v in domain_responses()[f"utter_ask_{slot}"]
        if {"type": "slot", "name": "contact_reask", "value": "noted"} in v.get("condition", [])
    ]
    return noted["text"][:40]


def test_a_number_in_the_request_itself_is_not_asked_for_again(stack: Stack) -> None:
    sender = "form-number-in-request"
    request = "I want to talk to a real person, my number is +34 612 345 678"
    asked_name = one_prompt(stack.send(request, sender))
    assert asked_name.startswith(noted_question("contact_name")), asked_name
    # Method and number are known: the time comes next, then consent.
    asked_time = one_prompt(stack.send("Maria", sender))
    assert asked_time.startswith(first_question("contact_time")), asked_time
    stack.send("weekday mornings", sender)
    done = stack.send("/affirm", sender)

    [row] = handoff_rows(stack, sender)
    assert row["reference"] in one_prompt(done)
    assert (row["contact_channel"], row["contact_value"]) == ("phone", "+34 612 345 678")


def test_a_number_in_the_request_is_erased_when_consent_is_declined(stack: Stack) -> None:
    sender = "form-number-in-request-declined"
    stack.send("I want to talk to a real person, my number is +34 612 345 678", sender)
    for message in ("Karima", "after 6"):
        stack.send(message, sender)
    reply = stack.send("/deny", sender)
    assert starts_with_response(one_prompt(reply), "utter_no_consent"), dump(reply)
    stored = stored_events_text(stack, sender)
    for secret in ("612 345 678", "612345678", "Karima"):
        assert secret not in stored, secret
