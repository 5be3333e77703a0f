"""Through the real stack: details typed into the handoff form are gone from the
tracker store once the patient declines consent or stops the form (the bot says
nothing is kept). The same code on PostgreSQL: tests/production/test_consent_erasure.py."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.integration.helpers import starts_with_response
from tests.stack import Stack, dump

pytestmark = pytest.mark.integration


def stored_events(stack: Stack, sender: str) -> str:
    engine = sa.create_engine(stack.tracker_db_url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
        ).fetchall()
    engine.dispose()
    return json.dumps([json.loads(row[0]) for row in rows])


def test_declined_consent_leaves_no_contact_details_in_the_tracker(stack: Stack) -> None:
    sender = "consent-erased-decline"
    for message in ("talk to a human please", "Karima Quenby", "email", "kq@example.org"):
        stack.send(message, sender)
    stack.send("weekday afternoons", sender)
    assert "Quenby" in stored_events(stack, sender)  # stored while the form runs
    reply = stack.send("/deny", sender)
    assert starts_with_response(reply[0]["text"], "utter_no_consent"), dump(reply)
    stored = stored_events(stack, sender)
    for secret in ("Quenby", "kq@example.org", "weekday afternoons"):
        assert secret not in stored, secret
    assert "talk to a human please" in stored  # the request itself stays for staff
    # The conversation carries on normally afterwards.
    assert "Sources:" in " ".join(
        m.get("text", "") for m in stack.send("how many sessions do I need?", sender)
    )


def test_stopping_the_form_leaves_no_contact_details_in_the_tracker(stack: Stack) -> None:
    sender = "consent-erased-stop"
    for message in ("I need a human", "Karima Quenby", "phone", "+44 7700 900987"):
        stack.send(message, sender)
    reply = stack.send("never mind", sender)
    assert starts_with_response(reply[0]["text"], "utter_handoff_cancelled"), dump(reply)
    stored = stored_events(stack, sender)
    for secret in ("Quenby", "7700 900987", "7700900987"):
        assert secret not in stored, secret
