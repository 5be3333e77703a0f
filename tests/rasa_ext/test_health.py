"""Rasa's silent tracker-store fallback is recorded, reported and flushed back."""

from __future__ import annotations

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

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
