"""Deleting conversations: the retention period, and a patient's deletion request.

Both databases are touched: Rasa's `events` rows, and every row of ours that holds
or points at that conversation (the conversation store's summaries, messages and
search index, reviews, tags, notes, flags, NLU corrections, handoff requests). Audit
rows are kept, for accountability, but their target is replaced by an opaque
reference once the conversation is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.channels.whatsapp_window import WhatsAppReplyWindow
from bot.db import session_scope
from bot.handoff import HandoffRequest
from bot.staff import audit
from bot.staff.background import running
from bot.staff.conversations import conversation_ref
from bot.staff.events import events, has_events_table
from bot.staff.models import (
    AuditEntry,
    ConversationNote,
    ConversationReview,
    ConversationTag,
    MessageFlag,
    NluCorrection,
)
from bot.staff.store import ConversationStore
from bot.staff.takeover_models import StaffTakeover

log = logging.getLogger(__name__)

DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's limits
DAY_S = 24 * 3600

CONVERSATION_MODELS = (
    ConversationReview,
    ConversationTag,
    ConversationNote,
    MessageFlag,
    NluCorrection,
)
# A deletion request also ends a live takeover and forgets a WhatsApp reply number.
PER_SENDER_MODELS = (*CONVERSATION_MODELS, HandoffRequest, StaffTakeover, WhatsAppReplyWindow)


def parse_duration(text: str) -> timedelta:
    """'90d', '12h', '30m' or '2w' as a timedelta."""
    match = DURATION.match(text or "")
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"expected a positive duration like 90d, 12h, 30m or 2w (got {text!r})")
    return timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)])


@dataclass
class DeletionReport:
    events: int = 0
    conversations: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, count: int) -> None:
        if count:
            self.rows[table] = self.rows.get(table, 0) + count

    def summary(self) -> str:
        ours = ", ".join(f"{count} {table}" for table, count in sorted(self.rows.items()))
        return (
            f"deleted {self.events} tracker events ({self.conversations} whole conversations)"
            + (f"; {ours}" if ours else "")
        )

    def as_dict(self) -> dict[str, object]:
        return {"events": self.events, "conversations": self.conversations, **self.rows}


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def forget_senders(
    session: Session,
    sender_ids: Iterable[str],
    secret: str,
    report: DeletionReport,
    models: tuple[type, ...] = PER_SENDER_MODELS,
) -> None:
    """Delete our rows for these conversations; pseudonymise audit targets naming them."""
    senders = sorted(set(sender_ids))
    for chunk in _chunks(senders):
        for model in models:
            result = session.execute(sa.delete(model).where(model.sender_id.in_(chunk)))
            report.add(model.__tablename__, int(result.rowcount or 0))
        for sender_id in chunk:
            session.execute(
                sa.update(AuditEntry)
                .where(AuditEntry.target == sender_id)
                .values(target=conversation_ref(secret, sender_id))
            )


def delete_sender(
    app_engine: Engine, tracker_engine: Engine, sender_id: str, secret: str, actor: str
) -> DeletionReport:
    """A patient's deletion request: everything stored about this conversation."""
    report = DeletionReport()
    deleted: list[int] = []
    if has_events_table(tracker_engine):
        with tracker_engine.begin() as conn:
            deleted = list(
                conn.execute(sa.select(events.c.id).where(events.c.sender_id == sender_id))
                .scalars()
                .all()
            )
            result = conn.execute(sa.delete(events).where(events.c.sender_id == sender_id))
            report.events = int(result.rowcount or 0)
    store = ConversationStore(app_engine, tracker_engine, secret)
    with session_scope(app_engine) as session:
        store.forget(session.connection(), [sender_id])
        store.tracker_rows_deleted(session.connection(), deleted)
        forget_senders(session, [sender_id], secret, report)
        report.conversations = 1 if report.events or report.rows else 0
        audit.record(
            session,
            actor,
            "delete_conversation",
            conversation_ref(secret, sender_id),
            report.as_dict(),
        )
    return report


def purge_older_than(
    app_engine: Engine, tracker_engine: Engine, age: timedelta, secret: str, actor: str
) -> DeletionReport:
    """Delete every event older than `age`, our rows that depended on them, and
    handoff requests closed before the cutoff."""
    cutoff_ts = time.time() - age.total_seconds()
    cutoff_dt = datetime.now(timezone.utc).replace(tzinfo=None) - age
    report = DeletionReport()
    old_events: list[tuple[int, str]] = []
    emptied: set[str] = set()
    if has_events_table(tracker_engine):
        with tracker_engine.begin() as conn:
            old_events = [
                (row.id, row.sender_id)
                for row in conn.execute(
                    sa.select(events.c.id, events.c.sender_id).where(events.c.timestamp < cutoff_ts)
                )
            ]
            for chunk in _chunks([event_id for event_id, _ in old_events]):
                conn.execute(sa.delete(events).where(events.c.id.in_(chunk)))
            touched = sorted({sender for _, sender in old_events})
            remaining: set[str] = set()
            for chunk in _chunks(touched):
                remaining.update(
                    conn.execute(
                        sa.select(events.c.sender_id.distinct()).where(
                            events.c.sender_id.in_(chunk)
                        )
                    ).scalars()
                )
            emptied = set(touched) - remaining
        report.events = len(old_events)
        report.conversations = len(emptied)
    store = ConversationStore(app_engine, tracker_engine, secret)
    with session_scope(app_engine) as session:
        store.forget(session.connection(), emptied)
        store.reindex(session.connection(), {sender for _, sender in old_events} - emptied)
        store.tracker_rows_deleted(session.connection(), [event_id for event_id, _ in old_events])
        # A handoff still open or being handled outlives its conversation's messages:
        # the patient is waiting for a call. Closed ones go once they are old enough.
        forget_senders(session, emptied, secret, report, CONVERSATION_MODELS)
        # Conversations that go on keep their tags and review, but lose flags and
        # corrections on the deleted messages, and notes written before the cutoff.
        for chunk in _chunks([event_id for event_id, _ in old_events]):
            for model in (MessageFlag, NluCorrection):
                result = session.execute(sa.delete(model).where(model.event_id.in_(chunk)))
                report.add(model.__tablename__, int(result.rowcount or 0))
        notes = session.execute(
            sa.delete(ConversationNote).where(ConversationNote.created_at < cutoff_dt)
        )
        report.add(ConversationNote.__tablename__, int(notes.rowcount or 0))
        old_closed = (
            HandoffRequest.status == "closed",
            sa.func.coalesce(HandoffRequest.status_changed_at, HandoffRequest.created_at)
            < cutoff_dt,
        )
        unhanded = set(
            session.execute(sa.select(HandoffRequest.sender_id).where(*old_closed)).scalars()
        )
        closed = session.execute(
            sa.delete(HandoffRequest).where(*old_closed),
            execution_options={"synchronize_session": False},
        )
        report.add(HandoffRequest.__tablename__, int(closed.rowcount or 0))
        # A conversation that goes on shows no handoff once its requests are gone.
        store.update_handoffs(session.connection(), sorted(unhanded))
        audit.record(
            session,
            actor,
            "purge",
            None,
            {"older_than_seconds": int(age.total_seconds()), **report.as_dict()},
        )
    return report


async def retention_loop(
    app_engine: Engine, tracker_engine: Engine, days: int, secret: str
) -> None:
    """Apply the clinic's retention period now and then once a day, while the app runs."""
    while True:
        try:
            report = await asyncio.to_thread(
                purge_older_than,
                app_engine,
                tracker_engine,
                timedelta(days=days),
                secret,
                audit.SYSTEM_ACTOR,
            )
            log.info("retention (%d days): %s", days, report.summary())
        except Exception:  # keep the loop alive; the next day tries again
            log.exception("retention purge failed")
        await asyncio.sleep(DAY_S)


def retention_task(
    app_engine: Engine, tracker_engine: Engine, days: int, secret: str
) -> contextlib.AbstractAsyncContextManager[None]:
    if days <= 0:
        return contextlib.nullcontext()
    return running(retention_loop(app_engine, tracker_engine, days, secret))
