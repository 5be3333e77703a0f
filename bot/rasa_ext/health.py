"""Make Rasa's silent tracker-store fallback loud, visible and lossless.

Rasa wraps the SQL tracker store in a FailSafeTrackerStore: when the database fails
it logs one line and keeps the conversation in memory, where staff never see it, and
a failed read silently starts the conversation afresh. We record every such failure
in ``HEALTH`` (reported by the Rasa server's ``/health``), log it at CRITICAL, and
write the buffered trackers back to the database as soon as a save succeeds again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from rasa.core.tracker_store import FailSafeTrackerStore

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


async def _flush_buffered(store: FailSafeTrackerStore) -> None:
    for sender_id in list(HEALTH.buffered_senders):
        tracker = await store.fallback_tracker_store.retrieve(sender_id)
        if tracker is not None:
            await store._tracker_store.save(tracker)  # raises if still down
        HEALTH.buffered_senders.discard(sender_id)
        logger.warning("Wrote buffered conversation back to the tracker store.")


async def _save(self: FailSafeTrackerStore, tracker: Any) -> None:
    try:
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
        return await self._tracker_store.retrieve(sender_id)
    except Exception as error:
        HEALTH.record_failure(error, sender_id)
        # Continue the conversation from memory rather than from scratch.
        return await self.fallback_tracker_store.retrieve(sender_id)


def install() -> None:
    global _installed
    if not _installed:
        FailSafeTrackerStore.save = _save  # type: ignore[method-assign]
        FailSafeTrackerStore.retrieve = _retrieve  # type: ignore[method-assign]
        _installed = True
