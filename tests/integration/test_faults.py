"""The patient is never left in silence when the action server fails."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.integration.helpers import starts_with_response
from tests.stack import Stack, dump, texts

pytestmark = pytest.mark.integration


@pytest.fixture
def actions_down(stack: Stack):
    stack.stop_actions()
    try:
        yield stack
    finally:
        stack.start_actions()


def test_reply_within_two_seconds_when_action_server_stops_mid_conversation(stack: Stack) -> None:
    sender = "fault-mid-conversation"
    assert texts(stack.send("how many sessions do I need?", sender))
    stack.stop_actions()
    try:
        started = time.monotonic()
        messages = stack.send("what are the side effects?", sender)
        elapsed = time.monotonic() - started
        assert messages, "silence while the action server is down"
        assert any(
            starts_with_response(m.get("text", ""), "utter_action_unavailable") for m in messages
        ), dump(messages)
        assert elapsed < 2.0, f"reply took {elapsed:.2f} s"
    finally:
        stack.start_actions()
    # Recovery: the next question is answered normally again.
    recovered = stack.send("how long does one session take?", sender)
    assert "Sources:" in texts(recovered), dump(recovered)


def test_urgent_advice_comes_first_even_with_action_server_down(actions_down: Stack) -> None:
    messages = actions_down.send(
        "my scalp is swollen with pus and I have a fever since the session"
    )
    assert messages and starts_with_response(messages[0]["text"], "utter_urgent_care"), dump(
        messages
    )
    assert "112" in messages[0]["text"]  # the configured emergency number


def test_new_conversation_is_greeted_even_with_action_server_down(actions_down: Stack) -> None:
    messages = actions_down.send("/session_start", "fault-session-start")
    assert messages and starts_with_response(messages[0]["text"], "utter_greet_disclaimer"), dump(
        messages
    )


def test_rasa_health_reports_degraded_action_server(actions_down: Stack) -> None:
    report = httpx.get(f"{actions_down.rasa_url}/health", timeout=5).json()
    assert report["status"] == "degraded"
    assert report["checks"]["action_server"]["status"] == "degraded"
    assert report["checks"]["tracker_store"]["status"] == "ok"


def test_rasa_health_ok_when_everything_runs(stack: Stack) -> None:
    report = httpx.get(f"{stack.rasa_url}/health", timeout=5).json()
    assert report == {
        "status": "ok",
        "service": "rasa",
        "checks": {
            "model": {"status": "ok"},
            "tracker_store": {"status": "ok"},
            "action_server": {"status": "ok"},
        },
    }
