"""Make Rasa's silent tracker-store fallback loud, visible and lossless.

Rasa wraps the SQL tracker store in a FailSafeTrackerStore: when the database fails
it logs one line and keeps the conversation in memory, where staff never see it, and
a failed read silently starts the conversation afresh. We record every such failure
in ``HEALTH`` (reported by the Rasa server's ``/health``), log it at CRITICAL, and
write the buffered trackers back to the database as soon as a save succeeds again.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import rasa.core.tracker_store as tracker_store_module
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore

from bot.channels.pseudonym import pseudonym

logger = logging.getLogger(__name__)


@dataclass
class TrackerStoreHealth:
    failing_since: float | None = None
    last_error: str | None = None
    failures: int = 0
    buffered_senders: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return self.failing_since is None and not self.buffered_senders

    def report(self) -> dict[str, Any]:
        if self.ok:
            return {"status": "ok"}
        return {
            "status": "degraded",
            "reason": "tracker store unreachable; conversations are buffered in memory",
            "failing_since": self.failing_since,
            "last_error": self.last_error,
            "failures": self.failures,
            "buffered_conversations": len(self.buffered_senders),
        }

    def record_failure(self, error: Exception, sender_id: str | None = None) -> None:
        """Count a database failure; the log names only its type and a pseudonym.

        The database error's text can quote sender ids (phone numbers), bound
        parameters and connection URLs, so neither the log nor /health carries it.
        """
        if self.failing_since is None:
            self.failing_since = time.time()
        self.failures += 1
        self.last_error = type(error).__name__
        logger.critical(
            "TRACKER STORE FAILURE: %s%s. Rasa is keeping conversations in memory only; "
            "they will be written back when the database recovers. See /health.",
            self.last_error,
            f" (conversation {pseudonym(sender_id)})" if sender_id else "",
        )

    def record_recovery(self) -> None:
        if self.failing_since is not None:
            logger.warning("Tracker store reachable again after %d failure(s).", self.failures)
        self.failing_since = None


HEALTH = TrackerStoreHealth()

_original_save = FailSafeTrackerStore.save
_original_retrieve = FailSafeTrackerStore.retrieve
_installed = False


def _write_missing_events(store: SQLTrackerStore, tracker: Any) -> None:
    """Append the tracker's events that the database doesn't hold, in tracker order.

    Rasa's SQL store appends a tracker's events after as many as the database holds for
    the current session. A tracker buffered in memory may have started afresh (the
    database couldn't be read), so counting would skip its first events. Events are
    matched by timestamp instead: exactly those not yet stored are written, in one
    transaction. The columns are those SQLTrackerStore.save writes.
    """
    events = list(tracker.events)
    if not events:
        return
    table = store.SQLEvent
    with store.session_scope() as session:
        stored = {
            row[0]
            for row in session.query(table.timestamp).filter(
                table.sender_id == tracker.sender_id,
                table.timestamp >= min(e.timestamp for e in events),
            )
        }
        for event in events:
            if event.timestamp in stored:
                continue
            data = event.as_dict()
            session.add(
                table(
                    sender_id=tracker.sender_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                    action_name=data.get("name"),
                    data=json.dumps(data),
                )
            )
        session.commit()


async def _write_back(store: FailSafeTrackerStore, sender_id: str) -> None:
    """One buffered conversation into the database (raises if it is still down), then
    out of memory: the fallback store must not grow with the conversations."""
    tracker = await store.fallback_tracker_store.retrieve(sender_id)
    if tracker is not None:
        database = store._tracker_store
        if isinstance(database, SQLTrackerStore):
            _write_missing_events(database, tracker)
        else:
            await database.save(tracker)
        memory = getattr(store.fallback_tracker_store, "store", None)
        if isinstance(memory, dict):
            memory.pop(sender_id, None)
    HEALTH.buffered_senders.discard(sender_id)
    logger.warning(
        "Wrote buffered conversation %s back to the tracker store.", pseudonym(sender_id)
    )


async def _flush_buffered(store: FailSafeTrackerStore) -> None:
    for sender_id in list(HEALTH.buffered_senders):
        await _write_back(store, sender_id)


async def _save(self: FailSafeTrackerStore, tracker: Any) -> None:
    try:
        if tracker.sender_id in HEALTH.buffered_senders:
            # Its newest state is the buffered one: write it back the same way.
            await self.fallback_tracker_store.save(tracker)
            await _write_back(self, tracker.sender_id)
        else:
            await self._tracker_store.save(tracker)
        if HEALTH.buffered_senders:
            await _flush_buffered(self)
        HEALTH.record_recovery()
    except Exception as error:  # any database error triggers the fallback
        HEALTH.record_failure(error, tracker.sender_id)
        HEALTH.buffered_senders.add(tracker.sender_id)
        await self.fallback_tracker_store.save(tracker)


async def _retrieve(self: FailSafeTrackerStore, sender_id: str) -> Any:
    try:
        if sender_id in HEALTH.buffered_senders:
            # Write the turns buffered during the outage first, so the conversation
            # continues from them and later turns are stored after them.
            await _write_back(self, sender_id)
        return await self._tracker_store.retrieve(sender_id)
    except Exception as error:
        HEALTH.record_failure(error, sender_id)
        # Continue the conversation from memory rather than from scratch.
        return await self.fallback_tracker_store.retrieve(sender_id)


_original_engine_kwargs = tracker_store_module.create_engine_kwargs


def _engine_kwargs(url: Any) -> dict[str, Any]:
    """Rasa's PostgreSQL engine options plus ``pool_pre_ping``.

    Without it, after PostgreSQL restarts every pooled connection is dead, and a
    replica's first save on one fails: the turn goes to the memory buffer although the
    database is back, and the next turn, on another replica, is stored before it.
    """
    kwargs = dict(_original_engine_kwargs(url))
    if tracker_store_module.is_postgresql_url(url):
        kwargs["pool_pre_ping"] = True
    return kwargs


def install() -> None:
    global _installed
    if not _installed:
        FailSafeTrackerStore.save = _save  # type: ignore[method-assign]
        FailSafeTrackerStore.retrieve = _retrieve  # type: ignore[method-assign]
        # SQLTrackerStore looks the function up in its module at construction time.
        tracker_store_module.create_engine_kwargs = _engine_kwargs
        _installed = True
