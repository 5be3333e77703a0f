"""Two replicas drawing tickets for one conversation at the same moment each get their
own number (bot/rasa_ext/lock_store.py); Rasa's GET-then-SET hands out duplicates."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from rasa.core.lock_store import RedisLockStore

from bot.rasa_ext import lock_store
from tests.production.services import RedisServer

TICKETS_PER_REPLICA = 150


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    server = RedisServer()
    try:
        server.start()
    except (RuntimeError, OSError) as error:  # pragma: no cover - machine without Redis
        pytest.skip(f"Redis unavailable: {error}")
    try:
        yield server.port
    finally:
        server.stop()


def _draw_concurrently(port: int, conversation: str) -> list[int]:
    replicas = [RedisLockStore(host="127.0.0.1", port=port, key_prefix="meso") for _ in "ab"]
    drawn: list[int] = []
    start = threading.Barrier(len(replicas))

    def draw(store: RedisLockStore) -> None:
        start.wait()
        for _ in range(TICKETS_PER_REPLICA):
            drawn.append(store.issue_ticket(conversation))

    threads = [threading.Thread(target=draw, args=(store,)) for store in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return drawn


def test_concurrent_tickets_are_distinct_and_all_queued(redis_port: int) -> None:
    lock_store.install()
    drawn = _draw_concurrently(redis_port, "atomic")
    assert sorted(drawn) == list(range(2 * TICKETS_PER_REPLICA))
    store = RedisLockStore(host="127.0.0.1", port=redis_port, key_prefix="meso")
    assert [t.number for t in store.get_lock("atomic").tickets] == sorted(drawn)
    # Finishing every ticket leaves no lock behind.
    for number in drawn:
        store.cleanup("atomic", number)
    assert store.get_lock("atomic") is None


def test_cleanup_keeps_the_lock_of_a_message_queued_meanwhile(redis_port: int) -> None:
    lock_store.install()
    replica_a = RedisLockStore(host="127.0.0.1", port=redis_port, key_prefix="meso")
    replica_b = RedisLockStore(host="127.0.0.1", port=redis_port, key_prefix="meso")
    first = replica_a.issue_ticket("handover")
    second = replica_b.issue_ticket("handover")
    replica_a.cleanup("handover", first)
    lock = replica_b.get_lock("handover")
    assert lock is not None and not lock.is_locked(second)  # b's turn now
