"""At INFO level, logs hold neither patients' message texts nor phone numbers."""

from __future__ import annotations

import pytest

from tests.stack import Stack, texts

pytestmark = pytest.mark.integration

PHONE = "+44 7700 900461"
PRIVATE_TEXT = "my name is Zelda Quorvik and my scalp has been itching since tuesday"


def test_logs_do_not_contain_message_text_or_phone(stack: Stack) -> None:
    sender = "privacy-log-check"
    assert texts(stack.send(PRIVATE_TEXT, sender))
    stack.send("I want to talk to a human", sender)
    stack.send(f"please call me on {PHONE}", sender)
    logs = {
        service: stack.log_tail(service, lines=100_000)
        for service in ("rasa", "actions", "web", "staff")
    }
    for service, log in logs.items():
        assert "Zelda Quorvik" not in log, f"{service} log contains the patient's message"
        assert PHONE not in log and PHONE.replace(" ", "") not in log, (
            f"{service} log contains a phone number"
        )
