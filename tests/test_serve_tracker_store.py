"""`python -m bot serve rasa` puts a SQLite tracker store in WAL mode before Rasa opens
it (docs/performance.md: a rollback-journal commit blocked Rasa's event loop ~15 ms)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.serve import prepare_sqlite_tracker_store


def journal_mode(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        connection.close()


async def test_rasa_keeps_the_wal_mode_and_saves_and_reads_trackers(tmp_path: Path) -> None:
    path = tmp_path / "var" / "tracker.db"
    prepare_sqlite_tracker_store(f"sqlite:///{path}")
    assert journal_mode(path) == "wal"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    tracker = DialogueStateTracker("patient-1", slots=[])
    tracker.update(UserUttered("how many sessions?"))
    await store.save(tracker)
    restored = await store.retrieve("patient-1")
    assert restored is not None
    assert [event.text for event in restored.events if isinstance(event, UserUttered)] == [
        "how many sessions?"
    ]
    assert journal_mode(path) == "wal"


def test_other_databases_are_left_alone(tmp_path: Path) -> None:
    prepare_sqlite_tracker_store("sqlite://")
    prepare_sqlite_tracker_store("postgresql://rasa@localhost/none")
    assert list(tmp_path.iterdir()) == []
