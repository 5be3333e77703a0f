"""WhatsApp deduplication across replicas: a redelivered message reaching the other
replica is still recognised, through the same Redis the lock store uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from bot.channels.whatsapp_webhook import RedisSeenMessageIds, SeenMessageIds, seen_message_ids
from bot.config import get_settings


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    from tests.production.services import RedisServer

    try:
        server = RedisServer()
        server.start()
    except (RuntimeError, OSError, FileNotFoundError) as error:  # pragma: no cover
        pytest.skip(f"Redis unavailable: {error}")
    try:
        yield server.port
    finally:
        server.stop()


def test_two_replicas_share_what_they_have_seen(
    redis_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESO_REDIS_HOST", "127.0.0.1")
    monkeypatch.setenv("MESO_REDIS_PORT", str(redis_port))
    get_settings.cache_clear()
    try:
        replica_a, replica_b = seen_message_ids(), seen_message_ids()
    finally:
        get_settings.cache_clear()
    assert isinstance(replica_a, RedisSeenMessageIds)
    assert replica_a.first_time("wamid.1") is True
    assert replica_b.first_time("wamid.1") is False  # Meta's retry hit the other replica
    assert replica_b.first_time("wamid.2") is True


def test_without_redis_each_process_remembers_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESO_REDIS_HOST", raising=False)
    get_settings.cache_clear()
    try:
        assert isinstance(seen_message_ids(), SeenMessageIds)
    finally:
        get_settings.cache_clear()


def test_redis_down_falls_back_to_memory_and_answers() -> None:
    dead = redis.Redis(host="127.0.0.1", port=9, socket_timeout=0.2, socket_connect_timeout=0.2)
    seen = RedisSeenMessageIds(dead)
    assert seen.first_time("wamid.x") is True  # a message is never dropped
    assert seen.first_time("wamid.x") is False
