"""Handoff to clinic staff over REST, through the real stack, down to the database row."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.integration.helpers import starts_with_response
from tests.stack import Stack, dump, texts

pytestmark = pytest.mark.integration


def handoff_rows(stack: Stack, sender: str) -> list[dict]:
    engine = sa.create_engine(stack.app_db_url)
    with engine.connect() as connection:
        rows = (
            connection.execute(
                sa.text("SELECT * FROM handoff_requests WHERE sender_id = :s"), {"s": sender}
            )
            .mappings()
            .all()
        )
    engine.dispose()
    return [dict(row) for row in rows]


def test_full_handoff_stores_exactly_one_row(stack: Stack) -> None:
    sender = "handoff-happy-path"
    assert starts_with_response(
        stack.send("I want to talk to a real person", sender)[-1]["text"], "utter_ask_contact_name"
    )
    stack.send("Anna Example", sender)
    asked_value = stack.send("phone", sender)
    assert "+44 7700 900123" in texts(asked_value), dump(asked_value)  # asks with an example
    retry = stack.send("call me maybe", sender)
    # One message: what was wrong and the question again (utter_ask_contact_value's re-ask).
    [reask] = retry
    assert reask["text"].startswith("That doesn't look like a phone number"), dump(retry)
    stack.send("+44 7700 900123", sender)
    consent_question = stack.send("weekday mornings", sender)
    assert starts_with_response(consent_question[-1]["text"], "utter_ask_contact_consent"), dump(
        consent_question
    )
    done = stack.send("/affirm", sender)
    [row] = handoff_rows(stack, sender)
    assert row["reference"] in texts(done), dump(done)
    assert row["reason"] == "request_human"
    assert row["urgency"] == "normal"
    assert row["contact_name"] == "Anna Example"
    assert row["contact_channel"] == "phone"
    assert row["contact_value"].replace(" ", "") == "+447700900123"
    assert row["contact_time"] == "weekday mornings"
    assert row["consent_at"] is not None
    assert row["status"] == "open"
    assert row["channel"] == "rest"
    # Asking again in the same session doesn't open a second ticket.
    again = stack.send("can I talk to someone from the clinic?", sender)
    assert row["reference"] in texts(again), dump(again)
    assert len(handoff_rows(stack, sender)) == 1
    # ...and the bot still answers general questions afterwards.
    assert "Sources:" in texts(stack.send("how many sessions do I need?", sender))


def test_bad_email_is_asked_again_with_an_example(stack: Stack) -> None:
    sender = "handoff-bad-email"
    for message in ("talk to a human please", "Lea", "email"):
        stack.send(message, sender)
    retry = stack.send("lea at gmail", sender)
    [reask] = retry
    assert reask["text"].startswith("That doesn't look like an email address"), dump(retry)
    assert "name@example.com" in reask["text"]


def test_no_consent_stores_nothing_and_gives_the_clinic_phone(stack: Stack) -> None:
    sender = "handoff-no-consent"
    for message in ("talk to a human please", "Karim", "email", "karim@example.com", "afternoons"):
        stack.send(message, sender)
    reply = stack.send("/deny", sender)
    assert starts_with_response(reply[0]["text"], "utter_no_consent"), dump(reply)
    assert handoff_rows(stack, sender) == []


def test_stop_cancels_the_form(stack: Stack) -> None:
    sender = "handoff-cancel"
    stack.send("I need a human", sender)
    reply = stack.send("never mind", sender)
    assert starts_with_response(reply[0]["text"], "utter_handoff_cancelled"), dump(reply)
    assert handoff_rows(stack, sender) == []


def test_urgent_report_creates_an_urgent_request_after_the_advice(stack: Stack) -> None:
    sender = "handoff-urgent"
    first = stack.send(
        "my lips and eyes are swelling up after the injections and I feel my throat closing", sender
    )
    assert starts_with_response(first[0]["text"], "utter_urgent_care"), dump(first)
    stack.send("/affirm", sender)
    [row] = handoff_rows(stack, sender)
    assert row["urgency"] == "urgent"
    assert row["reason"] == "urgent"
    assert row["contact_value"] is None  # nothing personal without consent
