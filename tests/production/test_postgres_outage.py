"""PostgreSQL stopped and restarted under the running stack: the patient gets replies
throughout, the replica's /health says degraded, and after recovery every turn of the
outage is in PostgreSQL, in order, none lost."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.production.conftest import ProductionStack
from tests.production.patients import post, serving_replica, stored_events
from tests.stack import dump, texts

pytestmark = [pytest.mark.integration, pytest.mark.production]

SOURCE = "127.0.0.41"  # one address: nginx keeps this patient on one replica
BEFORE = ["how many sessions do I need?"]
DURING = ["does it hurt?", "what are the side effects?"]
AFTER = ["can I go to the sauna after?", "thanks"]


def _turn(production: ProductionStack, sender: str, message: str) -> str:
    reply = post(production.nginx.url, sender, message, SOURCE)
    assert texts(reply.json()), f"no reply to {message!r}: {dump(reply.json())}"
    return serving_replica(production, reply)


def _health(production: ProductionStack, replica: str) -> dict:
    return httpx.get(f"{production.url(replica)}/health", timeout=10).json()


def test_turns_during_a_database_outage_reach_postgresql_after_it(
    production: ProductionStack,
) -> None:
    sender, other = "outage-patient", "outage-newcomer"
    replica = _turn(production, sender, BEFORE[0])
    production.postgres.outage()
    try:
        for message in DURING:
            assert _turn(production, sender, message) == replica
        # A conversation that starts during the outage is kept as well.
        assert _turn(production, other, "what is mesotherapy?") == replica
        health = _health(production, replica)
        assert health["status"] == "degraded", health
        assert health["checks"]["tracker_store"]["status"] == "degraded", health
        assert health["checks"]["tracker_store"]["buffered_conversations"] == 2, health
    finally:
        production.postgres.restart()
    # The next turns write the buffered conversations back, then carry on as usual.
    for message in AFTER:
        assert _turn(production, sender, message) == replica
    deadline = time.monotonic() + 30
    while _health(production, replica)["checks"]["tracker_store"]["status"] != "ok":
        assert time.monotonic() < deadline, _health(production, replica)
        _turn(production, other, "thanks")
    stored = [e["text"] for e in stored_events(production, sender) if e["event"] == "user"]
    assert stored == BEFORE + DURING + AFTER
    newcomer = [e["text"] for e in stored_events(production, other) if e["event"] == "user"]
    assert newcomer[0] == "what is mesotherapy?", newcomer
