"""A hung action server (it accepts connections and never answers) through the real
stack: the patient gets the domain fallback within 2 s, new conversation included.

SIGSTOP freezes the action server: the kernel still accepts its connections, nothing
answers. Rasa reaches it through nginx, as deployed.
"""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from bot.rasa_ext.circuit_breaker import COOLDOWN_SECONDS
from tests.integration.helpers import starts_with_response
from tests.production.conftest import ProductionStack
from tests.production.patients import post, serving_replica
from tests.stack import dump, texts

pytestmark = [pytest.mark.integration, pytest.mark.production]

SOURCE = "127.0.0.31"  # one address: nginx sends all these turns to one replica
QUESTION = "how many sessions do I need?"  # answered with its sources when all is well


def _timed_turn(production: ProductionStack, sender: str, message: str) -> tuple[list, float, str]:
    started = time.monotonic()
    reply = post(production.nginx.url, sender, message, SOURCE)
    elapsed = time.monotonic() - started
    return reply.json(), elapsed, serving_replica(production, reply)


def _is_fallback(messages: list[dict]) -> bool:
    return any(
        starts_with_response(m.get("text") or "", "utter_action_unavailable") for m in messages
    )


def test_hung_action_server_costs_a_new_conversation_under_two_seconds(
    production: ProductionStack,
) -> None:
    # A normal turn first: a replica's first message pays TensorFlow's warm-up, which is
    # not what this test measures.
    warm, _elapsed, _replica = _timed_turn(production, "hung-warm-up", QUESTION)
    assert "Sources:" in texts(warm), dump(warm)
    actions = production.processes["actions"]
    actions.send_signal(signal.SIGSTOP)
    try:
        # A new conversation runs action_session_start and the answer action: the first
        # waits out the timeout, the circuit breaker spares the second.
        messages, elapsed, replica = _timed_turn(production, "hung-new", "does it hurt?")
        assert _is_fallback(messages), dump(messages)
        assert elapsed < 2.0, f"the patient waited {elapsed:.2f} s"
        # The next patient on that replica doesn't wait for the server at all.
        messages, elapsed, same = _timed_turn(production, "hung-next", "what is mesotherapy?")
        assert same == replica
        assert _is_fallback(messages), dump(messages)
        assert elapsed < 1.0, f"the breaker was closed: {elapsed:.2f} s"
        health = httpx.get(f"{production.url(replica)}/health", timeout=10).json()
        assert health["checks"]["action_server"]["status"] == "degraded", health
    finally:
        actions.send_signal(signal.SIGCONT)
    # After the breaker's cooldown the recovered server answers again.
    time.sleep(COOLDOWN_SECONDS + 0.5)
    messages, _elapsed, _replica = _timed_turn(production, "hung-new", QUESTION)
    assert "Sources:" in texts(messages), dump(messages)
