"""The Redis lock store under contention: many messages of one conversation at once,
spread over both replicas. Each is processed once, in arrival order, and its turn is
complete in PostgreSQL before the next one starts."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from rasa.core.lock_store import RedisLockStore

from tests.production.conftest import REPLICAS, ProductionStack
from tests.production.patients import send, stored_events

pytestmark = [pytest.mark.integration, pytest.mark.production]

QUESTIONS = [
    "how many sessions do I need?",
    "does it hurt?",
    "what are the side effects?",
    "how long is each session?",
    "can I go to the sauna after?",
    "what is mesotherapy?",
    "can I wash my hair after?",
    "how much does it cost?",
    "is it safe?",
    "when will I see results?",
]


def lock_store(production: ProductionStack) -> RedisLockStore:
    # The replicas' own settings (deploy/endpoints.production.yml: db 1, prefix meso).
    return RedisLockStore(host="127.0.0.1", port=production.redis.port, db=1, key_prefix="meso")


def assert_turns_not_interleaved(events: list[dict], expected: list[str]) -> None:
    """Each user message, then its bot replies and actions up to action_listen."""
    users = [i for i, e in enumerate(events) if e["event"] == "user"]
    assert [events[i]["text"] for i in users] == expected
    for start, end in zip(users, [*users[1:], len(events)], strict=True):
        turn = events[start + 1 : end]
        texts = events[start]["text"]
        assert any(e["event"] == "bot" for e in turn), f"no reply stored for {texts!r}"
        listens = [e for e in turn if e["event"] == "action" and e["name"] == "action_listen"]
        assert listens, f"the turn for {texts!r} never finished"


async def _send_all(production: ProductionStack, sender: str, spacing: float) -> list[list]:
    urls = [production.url(REPLICAS[i % 2]) for i in range(len(QUESTIONS))]

    async def one(i: int, http: httpx.AsyncClient) -> list:
        await asyncio.sleep(i * spacing)
        reply = await http.post(
            f"{urls[i]}/webhooks/rest/webhook", json={"sender": sender, "message": QUESTIONS[i]}
        )
        reply.raise_for_status()
        return reply.json()

    async with httpx.AsyncClient(timeout=180) as http:
        return await asyncio.gather(*(one(i, http) for i in range(len(QUESTIONS))))


def test_queued_messages_are_processed_once_in_arrival_order(production: ProductionStack) -> None:
    sender = "contended-queue"
    send(production.url("rasa_a"), sender, "hello")
    store = lock_store(production)

    async def scenario() -> list[list]:
        # Hold the conversation's lock, as a long turn would, while all the messages
        # arrive (alternating replicas, 0.3 s apart); then let them through.
        async with store.lock(sender, wait_time_in_seconds=0.05):
            sending = asyncio.ensure_future(_send_all(production, sender, 0.3))
            deadline = time.monotonic() + 60
            while len(store.get_lock(sender).tickets) < len(QUESTIONS) + 1:
                assert time.monotonic() < deadline, "the messages never queued on the lock"
                assert not sending.done(), "a message was processed while the lock was held"
                await asyncio.sleep(0.1)
        return await sending

    replies = asyncio.run(scenario())
    assert all(reply for reply in replies), replies
    events = stored_events(production, sender)
    assert_turns_not_interleaved(events, ["hello", *QUESTIONS])


def test_simultaneous_messages_on_both_replicas_are_each_processed_once(
    production: ProductionStack,
) -> None:
    sender = "contended-burst"
    send(production.url("rasa_b"), sender, "hello")
    replies = asyncio.run(_send_all(production, sender, 0.0))
    assert all(reply for reply in replies), replies
    events = stored_events(production, sender)
    stored = [e["text"] for e in events if e["event"] == "user"]
    # No arrival order to check when all arrive at once; each is there exactly once.
    assert stored[0] == "hello" and sorted(stored[1:]) == sorted(QUESTIONS), stored
    assert_turns_not_interleaved(events, stored)
