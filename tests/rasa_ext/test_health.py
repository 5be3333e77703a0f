"""Rasa's silent tracker-store fallback is recorded, reported and flushed back."""

from __future__ import annotations

import logging

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.pseudonym import pseudonym
from bot.rasa_ext import health


class FlakyStore(InMemoryTrackerStore):
    """An in-memory store that can be switched off like a failing database."""

    down = False

    async def save(self, tracker: DialogueStateTracker) -> None:
        if self.down:
            raise ConnectionError("database unreachable")
        await super().save(tracker)

    async def retrieve(self, sender_id: str):  # type: ignore[no-untyped-def]
        if self.down:
            raise ConnectionError("database unreachable")
        return await super().retrieve(sender_id)


@pytest.fixture
def store() -> FlakyStore:
    health.install()
    health.HEALTH.__init__()  # fresh state per test
    return FlakyStore(Domain.empty())


async def test_failure_is_reported_buffered_and_written_back(store: FlakyStore, caplog) -> None:
    failsafe = FailSafeTrackerStore(store)
    tracker = DialogueStateTracker("patient-1", [])
    tracker.update(UserUttered("hello"))

    store.down = True
    await failsafe.save(tracker)
    assert health.HEALTH.report()["status"] == "degraded"
    assert health.HEALTH.report()["buffered_conversations"] == 1
    assert "TRACKER STORE FAILURE" in caplog.text
    # While down, the conversation continues from memory instead of starting over.
    remembered = await failsafe.retrieve("patient-1")
    assert remembered is not None and remembered.latest_message.text == "hello"

    store.down = False
    other = DialogueStateTracker("patient-2", [])
    await failsafe.save(other)
    assert health.HEALTH.report() == {"status": "ok"}
    restored = await store.retrieve("patient-1")
    assert restored is not None and restored.latest_message.text == "hello"


class LeakyStore(InMemoryTrackerStore):
    """A failing database whose error quotes the sender id, as SQL drivers do."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        raise ConnectionError(
            f"INSERT INTO events ... parameters: ('{tracker.sender_id}', 'my scalp is bleeding')"
        )

    async def retrieve(self, sender_id: str):  # type: ignore[no-untyped-def]
        raise ConnectionError(f"SELECT ... WHERE sender_id = '{sender_id}'")


async def test_failure_log_names_the_error_type_not_the_sender(caplog) -> None:  # type: ignore[no-untyped-def]
    health.install()
    health.HEALTH.__init__()
    failsafe = FailSafeTrackerStore(LeakyStore(Domain.empty()))
    sender = "447700900123"
    tracker = DialogueStateTracker(sender, [])
    tracker.update(UserUttered("my scalp is bleeding"))

    with caplog.at_level(logging.DEBUG, logger=health.logger.name):
        await failsafe.save(tracker)
        await failsafe.retrieve(sender)

    # Rasa's own DEBUG lines name the sender id; this module's lines must not.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name == health.logger.name)
    assert ours.count("TRACKER STORE FAILURE: ConnectionError") == 2, ours
    assert sender not in ours and "bleeding" not in ours and "INSERT" not in ours
    assert pseudonym(sender) in ours
    assert sender not in repr(health.HEALTH.report()["last_error"])
    health.HEALTH.__init__()
