"""Rasa's silent tracker-store fallback is recorded, reported and flushed back."""

from __future__ import annotations

import json
import logging

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.pseudonym import pseudonym
from bot.rasa_ext import health


class Switchable:
    """A tracker store that can be switched off like a failing database."""

    down = False

    async def save(self, tracker: DialogueStateTracker) -> None:
        if self.down:
            raise ConnectionError("database unreachable")
        await super().save(tracker)  # type: ignore[misc]

    async def retrieve(self, sender_id: str):  # type: ignore[no-untyped-def]
        if self.down:
            raise ConnectionError("database unreachable")
        return await super().retrieve(sender_id)  # type: ignore[misc]


class FlakyStore(Switchable, InMemoryTrackerStore):
    """An in-memory store that can be switched off like a failing database."""


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


class SwitchableSQLStore(Switchable, SQLTrackerStore):
    """Rasa's SQL store on SQLite that can be switched off like a failing database."""


def _session_turns(sender: str, texts: list[str]) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, [])
    tracker.update(ActionExecuted(ACTION_SESSION_START_NAME))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
    for text in texts:
        tracker.update(UserUttered(text))
        tracker.update(BotUttered(f"reply to {text}"))
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
    return tracker


def _stored_user_texts(store: SQLTrackerStore, sender: str) -> list[str]:
    with store.session_scope() as session:
        rows = (
            session.query(store.SQLEvent.data)
            .filter(store.SQLEvent.sender_id == sender, store.SQLEvent.type_name == "user")
            .order_by(store.SQLEvent.id)
            .all()
        )
    return [json.loads(row[0])["text"] for row in rows]


async def test_a_conversation_restarted_in_memory_loses_no_turn_on_recovery(tmp_path) -> None:  # type: ignore[no-untyped-def]
    health.install()
    health.HEALTH.__init__()
    database = SwitchableSQLStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"))
    failsafe = FailSafeTrackerStore(database)
    await failsafe.save(_session_turns("patient", ["before 1", "before 2"]))

    database.down = True
    # The database can't be read: the conversation starts afresh in memory. Rasa's own
    # save would skip as many of its events as the database holds for the session.
    assert await failsafe.retrieve("patient") is None
    await failsafe.save(_session_turns("patient", ["during 1", "during 2"]))
    assert health.HEALTH.report()["buffered_conversations"] == 1

    database.down = False
    recovered = await failsafe.retrieve("patient")
    assert recovered is not None and recovered.latest_message.text == "during 2"
    assert _stored_user_texts(database, "patient") == [
        "before 1",
        "before 2",
        "during 1",
        "during 2",
    ]
    assert health.HEALTH.buffered_senders == set()
    assert "patient" not in failsafe.fallback_tracker_store.store  # not kept in memory
    # The next turn is stored after them, once.
    recovered.update(UserUttered("after"))
    await failsafe.save(recovered)
    assert _stored_user_texts(database, "patient")[-2:] == ["during 2", "after"]
    assert health.HEALTH.report() == {"status": "ok"}


def test_postgresql_tracker_engines_ping_pooled_connections_after_install() -> None:
    # A restarted PostgreSQL leaves dead pooled connections; each is checked before use.
    import rasa.core.tracker_store as tracker_store_module

    health.install()
    kwargs = tracker_store_module.create_engine_kwargs("postgresql://meso@localhost/meso")
    assert kwargs["pool_pre_ping"] is True
    assert "pool_size" in kwargs  # Rasa's own options are kept
    assert "pool_pre_ping" not in tracker_store_module.create_engine_kwargs("sqlite:///x.db")
