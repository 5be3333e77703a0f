"""The widget's socket.io channel shares emits through Redis when Redis is configured."""

from __future__ import annotations

import pytest
from socketio import AsyncRedisManager

from bot.channels.guarded import SOCKETIO_REDIS_CHANNEL, socketio_client_manager
from bot.config import load_settings


def test_without_redis_emits_stay_in_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESO_REDIS_HOST", raising=False)
    assert socketio_client_manager(load_settings()) is None


def test_with_redis_the_lock_store_server_carries_the_emits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MESO_REDIS_HOST", "redis")
    monkeypatch.setenv("MESO_REDIS_PORT", "6380")
    monkeypatch.setenv("MESO_REDIS_PASSWORD", "example-password")
    manager = socketio_client_manager(load_settings())
    assert isinstance(manager, AsyncRedisManager)
    # The redis package's asyncio client (no aioredis), pointed at the same server.
    assert type(manager.redis).__module__.startswith("redis.asyncio")
    assert manager.redis_url == "redis://:example-password@redis:6380/0"
    assert manager.channel == SOCKETIO_REDIS_CHANNEL
