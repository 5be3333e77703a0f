"""The conversation store: indexed tables in the app database, fed from Rasa's `events`.

Every list, facet, count, search and export of the staff app is a SQL query on these
tables, so a staff process holds one batch of events at a time, never the conversations.

- `staff_conversations`: one summary row per conversation (times, counts, signals).
- `staff_conversation_terms`: the channels, intents and actions of each conversation,
  for filters and facets (an index on `(kind, value)`).
- `staff_messages`: every user and bot text, with the NLU result of user messages. Full
  text search runs on it: an FTS5 table kept in step by triggers on SQLite, generated
  `tsvector` columns with GIN indexes on PostgreSQL.
- `staff_store_state`: how far the feed has read the tracker's `events` table.

The feed reads `events` rows by id, above the last id it stored, in batches; see
docs/architecture.md for why this and not Rasa's event broker. Retention and deletion
remove the same patient's rows here too (`forget`, `reindex`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.contract import FALLBACK_INTENT, URGENT_INTENT
from bot.contract import REQUEST_HUMAN_INTENT as HUMAN_INTENT
from bot.db import Base
from bot.handoff import HandoffRequest
from bot.staff.background import running
from bot.staff.conversations import (
    FALLBACK_ACTIONS,
    conversation_ref,
    event_dict,
    event_float,
    event_text,
)
from bot.staff.events import events, has_events_table, parse_data
from bot.staff.redact import redact_text

logger = logging.getLogger(__name__)

BATCH_EVENTS = 5000  # tracker rows per feed transaction: bounds the feed's memory
CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's limits
FTS_TABLE = "staff_messages_fts"
# What the NLU inbox sorts on for a message it never shows (form answers, payloads).
NOT_REVIEWABLE = None
# A fallback is below every threshold: the inbox shows it whatever the threshold.
FALLBACK_REVIEW_SCORE = -1.0


# ------------------------------------------------------------------------------ tables


class StoredConversation(Base):
    __tablename__ = "staff_conversations"
    __table_args__ = (
        # (time, user_messages): date ranges and "most recent first" read the index alone.
        sa.Index("ix_staff_conversations_last_ts", "last_ts", "user_messages"),
        sa.Index("ix_staff_conversations_first_ts", "first_ts", "user_messages"),
        sa.Index("ix_staff_conversations_min_confidence", "min_confidence"),
        # Covers the one scan that counts every facet of the matching conversations,
        # in GROUP BY order (no sort for the whole list's facets).
        sa.Index(
            "ix_staff_conversations_facets",
            "handoff",
            "fallback",
            "channels",
            "intents",
            "user_messages",
        ),
        # Clustered by sender id: every index then holds the sender id, so a filter's
        # `sender_id IN (...)` is checked without reading the row.
        {"sqlite_with_rowid": False},
    )

    sender_id = sa.Column(sa.String(255), primary_key=True)
    ref = sa.Column(sa.String(32), nullable=False, unique=True)
    first_ts = sa.Column(sa.Float, nullable=True)
    last_ts = sa.Column(sa.Float, nullable=True)
    user_messages = sa.Column(sa.Integer, nullable=False, default=0)
    min_confidence = sa.Column(sa.Float, nullable=True)
    fallback = sa.Column(sa.Boolean, nullable=False, default=False)
    urgent_intent = sa.Column(sa.Boolean, nullable=False, default=False)
    human_intent = sa.Column(sa.Boolean, nullable=False, default=False)
    channels = sa.Column(sa.String(255), nullable=False, default="")  # sorted, ", "-joined
    # urgent | requested | none: from the intents and the app's handoff requests
    # (`handoff_state`), kept current by the feed so that lists filter on a column.
    handoff = sa.Column(sa.String(16), nullable=False, default="none")
    # The conversation's intents, sorted and space-separated: a facet counts them per
    # distinct combination, which is far fewer rows than conversations.
    intents = sa.Column(sa.Text, nullable=False, default="")
    first_text = sa.Column(sa.Text, nullable=False, default="")
    # Feed state: the form asking for a slot now, so the next user message is a form answer.
    active_loop = sa.Column(sa.String(120), nullable=True)


class StoredTerm(Base):
    __tablename__ = "staff_conversation_terms"
    __table_args__ = (
        # Both directions covered: a facet counts values of matching conversations
        # (by sender), a filter finds conversations with a value (the primary key).
        sa.Index("ix_staff_conversation_terms_sender", "sender_id", "kind", "value"),
        {"sqlite_with_rowid": False},
    )

    kind = sa.Column(sa.String(16), primary_key=True)  # channel | intent | action
    value = sa.Column(sa.String(255), primary_key=True)
    sender_id = sa.Column(sa.String(255), primary_key=True)
    count = sa.Column(sa.Integer, nullable=False, default=1)


class StoredMessage(Base):
    __tablename__ = "staff_messages"
    __table_args__ = (
        sa.Index("ix_staff_messages_sender", "sender_id", "kind", "confidence"),
        sa.Index("ix_staff_messages_day", "kind", "timestamp", "intent"),
        sa.Index("ix_staff_messages_review", "review_score", "timestamp", "sender_id"),
    )

    event_id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)  # events.id
    sender_id = sa.Column(sa.String(255), nullable=False)
    kind = sa.Column(sa.String(8), nullable=False)  # user | bot
    timestamp = sa.Column(sa.Float, nullable=False)
    text = sa.Column(sa.Text, nullable=False, default="")
    # What roles without contact details may search: NULL when it is `text` unchanged,
    # "" for answers typed into a form (names, phone numbers).
    redacted = sa.Column(sa.Text, nullable=True)
    intent = sa.Column(sa.String(255), nullable=True)
    confidence = sa.Column(sa.Float, nullable=True)
    channel = sa.Column(sa.String(64), nullable=True)
    in_form = sa.Column(sa.Boolean, nullable=False, default=False)
    # Below the inbox threshold means "needs review"; NULL for messages never reviewed.
    review_score = sa.Column(sa.Float, nullable=True)


class StoreState(Base):
    __tablename__ = "staff_store_state"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    last_event_id = sa.Column(sa.Integer, nullable=False, default=0)
    events_seen = sa.Column(sa.Integer, nullable=False, default=0)
    # Which secret the stored refs were made with: a new key means new refs.
    ref_key = sa.Column(sa.String(64), nullable=False, default="")
    # The last handoff request whose conversation's `handoff` state was updated.
    last_handoff_id = sa.Column(sa.Integer, nullable=False, default=0)


conversations_t: sa.Table = StoredConversation.__table__  # type: ignore[assignment]
terms_t: sa.Table = StoredTerm.__table__  # type: ignore[assignment]
messages_t: sa.Table = StoredMessage.__table__  # type: ignore[assignment]
state_t: sa.Table = StoreState.__table__  # type: ignore[assignment]

handoffs_t: sa.Table = HandoffRequest.__table__  # type: ignore[assignment]


def handoff_state(conversation: sa.Table = conversations_t) -> sa.ColumnElement[str]:
    """urgent, requested (a handoff without urgency) or none, for rows of
    staff_conversations: from the patient's intents and the handoff requests."""
    c = conversation.c
    urgent_request = c.sender_id.in_(
        sa.select(handoffs_t.c.sender_id).where(handoffs_t.c.urgency == "urgent")
    )
    any_request = c.sender_id.in_(sa.select(handoffs_t.c.sender_id))
    return sa.case(
        (sa.or_(c.urgent_intent, urgent_request), "urgent"),
        (sa.or_(c.human_intent, any_request), "requested"),
        else_="none",
    )


# Full-text search, per dialect. SQLite: an external-content FTS5 table over
# staff_messages, kept in step by triggers. PostgreSQL: generated tsvector columns.
# Both tokenise the same way (words, lower-cased, no stemming: patients write in
# several languages), and search matches word prefixes.
SQLITE_SEARCH_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "text, redacted, content='staff_messages', content_rowid='event_id', "
    "tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS staff_messages_fts_insert AFTER INSERT ON staff_messages "
    f"BEGIN INSERT INTO {FTS_TABLE}(rowid, text, redacted) "
    "VALUES (new.event_id, new.text, coalesce(new.redacted, new.text)); END",
    f"CREATE TRIGGER IF NOT EXISTS staff_messages_fts_delete AFTER DELETE ON staff_messages "
    f"BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text, redacted) "
    "VALUES ('delete', old.event_id, old.text, coalesce(old.redacted, old.text)); END",
)
POSTGRES_SEARCH_DDL = (
    "ALTER TABLE staff_messages ADD COLUMN IF NOT EXISTS search tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED",
    "ALTER TABLE staff_messages ADD COLUMN IF NOT EXISTS search_redacted tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', coalesce(redacted, text))) STORED",
    "CREATE INDEX IF NOT EXISTS ix_staff_messages_search ON staff_messages USING gin (search)",
    "CREATE INDEX IF NOT EXISTS ix_staff_messages_search_redacted "
    "ON staff_messages USING gin (search_redacted)",
)


def create_search_index(connection: Connection) -> None:
    """The dialect's full-text index on staff_messages (idempotent; migrations call it)."""
    dialect = connection.dialect.name
    statements = {"sqlite": SQLITE_SEARCH_DDL, "postgresql": POSTGRES_SEARCH_DDL}.get(dialect)
    if statements is None:
        raise RuntimeError(f"full-text search needs SQLite or PostgreSQL, not {dialect}")
    for statement in statements:
        connection.execute(sa.text(statement))


@sa.event.listens_for(messages_t, "after_create")
def _after_create(_table: sa.Table, connection: Connection, **_kw: Any) -> None:
    create_search_index(connection)


WORD = re.compile(r"\w+", re.UNICODE)


def search_terms(query: str) -> list[str]:
    """The words of a search box entry: what both full-text indexes can match."""
    return [word.casefold() for word in WORD.findall(query)][:12]


def search_match(query: str, dialect: str, redacted: bool) -> sa.ColumnElement[bool] | None:
    """`staff_messages` rows holding every word of `query` (as word prefixes), or None
    when the query has no words. `redacted` searches only what viewers may see."""
    words = search_terms(query)
    if not words:
        return None
    if dialect == "postgresql":
        column = "search_redacted" if redacted else "search"
        return sa.literal_column(f"staff_messages.{column}").op("@@")(
            sa.func.to_tsquery(sa.literal("simple"), " & ".join(f"{w}:*" for w in words))
        )
    # Quoted, so FTS5 syntax typed by a user is only ever a word to look for.
    expression = " AND ".join(f'"{w}"*' for w in words)
    column = "redacted" if redacted else "text"
    matching = (
        sa.select(sa.literal_column("rowid"))
        .select_from(sa.table(FTS_TABLE))
        .where(sa.literal_column(FTS_TABLE).op("MATCH")(f"{column} : ({expression})"))
    )
    return messages_t.c.event_id.in_(matching)


# --------------------------------------------------------------------------- the rows


@dataclass
class ConversationRow:
    """One conversation as lists, transcripts and exports show it."""

    sender_id: str
    ref: str
    first_ts: float | None
    last_ts: float | None
    user_message_count: int
    min_confidence: float | None
    fallback: bool
    urgent_intent: bool
    human_intent: bool
    channels: set[str]
    first_text: str
    handoff: str = "none"
    intents: list[str] = field(default_factory=list)

    @property
    def channel(self) -> str:
        return ", ".join(sorted(self.channels)) or "unknown"


@dataclass
class IndexedMessage:
    """One user message, as the NLU inbox shows it."""

    event_id: int
    sender_id: str
    timestamp: float
    text: str
    intent: str | None
    confidence: float | None
    channel: str
    in_form: bool  # typed while a form was asking for a slot (names, phones...)
    ref: str = ""


CONVERSATION_COLUMNS = (
    conversations_t.c.sender_id,
    conversations_t.c.ref,
    conversations_t.c.first_ts,
    conversations_t.c.last_ts,
    conversations_t.c.user_messages,
    conversations_t.c.min_confidence,
    conversations_t.c.fallback,
    conversations_t.c.urgent_intent,
    conversations_t.c.human_intent,
    conversations_t.c.channels,
    conversations_t.c.first_text,
    conversations_t.c.handoff,
    conversations_t.c.intents,
)


def summary_fields(row: Any) -> dict[str, Any]:
    """The summary columns of a ``conversations`` row that the list and the feed both read."""
    return {
        "sender_id": row.sender_id,
        "ref": row.ref,
        "first_ts": row.first_ts,
        "last_ts": row.last_ts,
        "min_confidence": row.min_confidence,
        "fallback": bool(row.fallback),
        "urgent_intent": bool(row.urgent_intent),
        "human_intent": bool(row.human_intent),
        "channels": {c for c in (row.channels or "").split(", ") if c},
        "first_text": row.first_text or "",
    }


def conversation_row(row: Any) -> ConversationRow:
    return ConversationRow(
        **summary_fields(row),
        user_message_count=row.user_messages,
        handoff=row.handoff,
        intents=(row.intents or "").split(),
    )


# ------------------------------------------------------------------------------- feed


@dataclass
class _Summary:
    """A conversation's summary while a batch of its events is folded in."""

    sender_id: str
    ref: str
    first_ts: float | None = None
    last_ts: float | None = None
    user_messages: int = 0
    min_confidence: float | None = None
    fallback: bool = False
    urgent_intent: bool = False
    human_intent: bool = False
    channels: set[str] = field(default_factory=set)
    first_text: str = ""
    active_loop: str | None = None
    terms: Counter[tuple[str, str]] = field(default_factory=Counter)

    def row(self) -> dict[str, Any]:
        return {
            "sender_id": self.sender_id,
            "ref": self.ref,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "user_messages": self.user_messages,
            "min_confidence": self.min_confidence,
            "fallback": self.fallback,
            "urgent_intent": self.urgent_intent,
            "human_intent": self.human_intent,
            "channels": ", ".join(sorted(self.channels))[:255],
            "intents": " ".join(sorted(v for k, v in self.terms if k == "intent")),
            "first_text": self.first_text,
            "active_loop": self.active_loop,
        }

    def seen_at(self, timestamp: float) -> None:
        self.first_ts = timestamp if self.first_ts is None else min(self.first_ts, timestamp)
        self.last_ts = timestamp if self.last_ts is None else max(self.last_ts, timestamp)


class ConversationStore:
    """Reads new tracker events into the store's tables, and answers lookups.

    Several staff processes may feed the same tables: each batch first moves the
    state row's `last_event_id` on from the value it read, so only one of them
    stores a given batch (the others find it done and read on).
    """

    def __init__(
        self,
        app_engine: Engine,
        tracker_engine: Engine,
        secret: str,
        check_seconds: float = 60.0,
        batch: int = BATCH_EVENTS,
    ) -> None:
        self.app_engine = app_engine
        self.tracker_engine = tracker_engine
        self.secret = secret
        self.ref_key = conversation_ref(secret, "meso-staff-store")
        # How often to compare the number of tracker rows with what was read, which
        # notices rows deleted behind our back (count(*) is not free on 2M rows).
        self.check_seconds = check_seconds
        self.batch = batch
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._unreadable: set[int] = set()

    # ---- feed ---------------------------------------------------------------------------
    def refresh(self, max_batches: int | None = 1) -> int:
        """Store tracker rows not stored yet, at most `max_batches` batches of them
        (None: until caught up); returns how many rows were read. A request reads one
        batch at most; the background feed (`feed_loop`) catches up on a backlog,
        taking the lock one batch at a time so that requests wait for one batch only."""
        total = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            with self._lock:
                read = self._refresh_batch()
            total += read
            batches += 1
            if read < self.batch:
                break
        return total

    def _refresh_batch(self) -> int:
        if not has_events_table(self.tracker_engine):
            self._clear_if_stale()
            return 0
        state = self._state()
        if state.ref_key != self.ref_key or self._deleted_behind_our_back(state):
            self._rebuild()
            state = self._state()
        with self.tracker_engine.connect() as conn:
            rows = conn.execute(
                sa.select(events)
                .where(events.c.id > state.last_event_id)
                .order_by(events.c.id)
                .limit(self.batch)
            ).all()
        if rows:
            self._store_batch(state.last_event_id, rows)
        self._sync_handoffs(state.last_handoff_id)
        return len(rows)

    def _sync_handoffs(self, last_handoff_id: int) -> None:
        """Update the handoff state of conversations with new handoff requests."""
        with self.app_engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoffs_t.c.id, handoffs_t.c.sender_id)
                .where(handoffs_t.c.id > last_handoff_id)
                .order_by(handoffs_t.c.id)
                .limit(self.batch)
            ).all()
        if not rows:
            return
        with self.app_engine.begin() as conn:
            moved = conn.execute(
                state_t.update()
                .where(state_t.c.id == 1, state_t.c.last_handoff_id == last_handoff_id)
                .values(last_handoff_id=rows[-1].id)
            )
            if moved.rowcount == 1:
                self.update_handoffs(conn, sorted({row.sender_id for row in rows}))

    def update_handoffs(self, conn: Connection, sender_ids: Sequence[str]) -> None:
        """Recompute these conversations' handoff state (new or deleted requests)."""
        for chunk in _chunks(list(sender_ids)):
            conn.execute(
                conversations_t.update()
                .where(conversations_t.c.sender_id.in_(chunk))
                .values(handoff=handoff_state())
            )

    def _state(self) -> Any:
        with self.app_engine.connect() as conn:
            row = conn.execute(sa.select(state_t).where(state_t.c.id == 1)).first()
        if row is not None:
            return row
        try:
            with self.app_engine.begin() as conn:
                conn.execute(
                    state_t.insert().values(
                        id=1,
                        last_event_id=0,
                        events_seen=0,
                        ref_key=self.ref_key,
                        last_handoff_id=0,
                    )
                )
        except sa.exc.IntegrityError:
            pass  # another process made it first
        return self._state()

    def _deleted_behind_our_back(self, state: Any) -> bool:
        """True when tracker rows we stored are gone (deleted by something other than
        `forget`/`reindex`): the store is rebuilt from what is left."""
        now = time.monotonic()
        if now - self._checked_at < self.check_seconds:
            return False
        self._checked_at = now
        with self.tracker_engine.connect() as conn:
            present = conn.execute(
                sa.select(sa.func.count())
                .select_from(events)
                .where(events.c.id <= state.last_event_id)
            ).scalar_one()
        return int(present) != state.events_seen

    def _clear_if_stale(self) -> None:
        state = self._state()
        if state.last_event_id or state.events_seen:
            self._rebuild()

    def _rebuild(self) -> None:
        logger.info("Staff app: rebuilding the conversation store from the tracker.")
        with self.app_engine.begin() as conn:
            for table in (messages_t, terms_t, conversations_t):
                conn.execute(table.delete())
            conn.execute(
                state_t.update()
                .where(state_t.c.id == 1)
                .values(last_event_id=0, events_seen=0, ref_key=self.ref_key, last_handoff_id=0)
            )

    def _store_batch(self, last_event_id: int, rows: Sequence[Any]) -> bool:
        new_last = max(row.id for row in rows)
        with self.app_engine.begin() as conn:
            moved = conn.execute(
                state_t.update()
                .where(state_t.c.id == 1, state_t.c.last_event_id == last_event_id)
                .values(last_event_id=new_last, events_seen=state_t.c.events_seen + len(rows))
            )
            if moved.rowcount != 1:
                return False  # another process stored this batch
            self._fold(conn, rows)
        return True

    def _fold(self, conn: Connection, rows: Sequence[Any]) -> None:
        """Fold tracker rows into the summaries, terms and messages of their senders."""
        senders = sorted({row.sender_id for row in rows})
        summaries = self._load_summaries(conn, senders)
        messages: list[dict[str, Any]] = []
        for row in rows:
            summary = summaries.get(row.sender_id)
            if summary is None:
                summary = _Summary(row.sender_id, conversation_ref(self.secret, row.sender_id))
                summaries[row.sender_id] = summary
            try:
                message = _ingest(summary, row)
            except Exception as error:  # any row Rasa stored must not take pages down
                self._skip(row, error)
                continue
            if message is not None:
                messages.append(message)
        for chunk in _chunks(senders):
            conn.execute(conversations_t.delete().where(conversations_t.c.sender_id.in_(chunk)))
            conn.execute(terms_t.delete().where(terms_t.c.sender_id.in_(chunk)))
        conn.execute(conversations_t.insert(), [s.row() for s in summaries.values()])
        self.update_handoffs(conn, senders)
        term_rows = [
            {"sender_id": s.sender_id, "kind": kind, "value": value[:255], "count": count}
            for s in summaries.values()
            for (kind, value), count in s.terms.items()
        ]
        if term_rows:
            conn.execute(terms_t.insert(), term_rows)
        if messages:
            conn.execute(messages_t.insert(), messages)

    def _load_summaries(self, conn: Connection, senders: list[str]) -> dict[str, _Summary]:
        summaries: dict[str, _Summary] = {}
        for chunk in _chunks(senders):
            for row in conn.execute(
                sa.select(conversations_t).where(conversations_t.c.sender_id.in_(chunk))
            ):
                summaries[row.sender_id] = _Summary(
                    **summary_fields(row),
                    user_messages=row.user_messages,
                    active_loop=row.active_loop,
                )
            for term in conn.execute(sa.select(terms_t).where(terms_t.c.sender_id.in_(chunk))):
                summaries[term.sender_id].terms[(term.kind, term.value)] = term.count
        return summaries

    def _skip(self, row: Any, error: Exception) -> None:
        """Leave out a row the store can't read, and say so once (no row content)."""
        event_id = getattr(row, "id", None)
        if isinstance(event_id, int):
            if event_id in self._unreadable:
                return
            self._unreadable.add(event_id)
        logger.warning(
            "Staff app: skipped unreadable tracker event id=%s type=%s (%s); the "
            "conversation is shown without it.",
            event_id,
            event_text(getattr(row, "type_name", None)),
            type(error).__name__,
        )

    # ---- deletion -----------------------------------------------------------------------
    # Retention and deletion requests delete tracker rows, then call these in the same
    # app-database transaction that deletes the staff app's own rows.
    def forget(self, conn: Connection, sender_ids: Iterable[str]) -> None:
        """Remove these conversations from the store."""
        for chunk in _chunks(sorted(set(sender_ids))):
            for table in (messages_t, terms_t, conversations_t):
                conn.execute(table.delete().where(table.c.sender_id.in_(chunk)))

    def reindex(self, conn: Connection, sender_ids: Iterable[str]) -> None:
        """Rebuild these conversations from the tracker rows left (after a purge)."""
        senders = sorted(set(sender_ids))
        self.forget(conn, senders)
        last = conn.execute(sa.select(state_t.c.last_event_id).where(state_t.c.id == 1)).scalar()
        if not senders or not last:
            return
        for chunk in _chunks(senders):
            with self.tracker_engine.connect() as tracker:
                rows = tracker.execute(
                    sa.select(events)
                    .where(events.c.sender_id.in_(chunk), events.c.id <= last)
                    .order_by(events.c.id)
                ).all()
            if rows:
                self._fold(conn, rows)

    def tracker_rows_deleted(self, conn: Connection, event_ids: Iterable[int]) -> None:
        """Count out deleted tracker rows the feed had read, so that the row-count check
        does not take a deletion we know about for one made behind our back."""
        last = conn.execute(sa.select(state_t.c.last_event_id).where(state_t.c.id == 1)).scalar()
        seen = sum(1 for event_id in event_ids if last and event_id <= last)
        if seen:
            conn.execute(
                state_t.update()
                .where(state_t.c.id == 1)
                .values(events_seen=state_t.c.events_seen - seen)
            )

    # ---- lookups ------------------------------------------------------------------------
    def get(self, sender_id: str) -> ConversationRow | None:
        with self.app_engine.connect() as conn:
            row = conn.execute(
                sa.select(*CONVERSATION_COLUMNS).where(conversations_t.c.sender_id == sender_id)
            ).first()
            if row is None:
                return None
            return conversation_row(row)

    def resolve(self, key: str) -> str | None:
        """A sender id from a URL key: the sender id itself or its `~ref`."""
        column = conversations_t.c.ref if key.startswith("~") else conversations_t.c.sender_id
        with self.app_engine.connect() as conn:
            return conn.execute(
                sa.select(conversations_t.c.sender_id).where(column == key)
            ).scalar_one_or_none()

    def conversations(self, limit: int = 1000) -> list[ConversationRow]:
        """Conversations in which the patient wrote, most recent first (tests, tools)."""
        with self.app_engine.connect() as conn:
            rows = conn.execute(
                sa.select(*CONVERSATION_COLUMNS)
                .where(conversations_t.c.user_messages > 0)
                .order_by(conversations_t.c.last_ts.desc())
                .limit(limit)
            ).all()
        return [conversation_row(r) for r in rows]

    def messages(self, sender_id: str) -> list[IndexedMessage]:
        """A conversation's user messages, in order."""
        with self.app_engine.connect() as conn:
            rows = conn.execute(
                sa.select(messages_t)
                .where(messages_t.c.sender_id == sender_id, messages_t.c.kind == "user")
                .order_by(messages_t.c.event_id)
            ).all()
        return [indexed_message(row) for row in rows]


def indexed_message(row: Any, ref: str = "") -> IndexedMessage:
    return IndexedMessage(
        event_id=row.event_id,
        sender_id=row.sender_id,
        timestamp=row.timestamp,
        text=row.text,
        intent=row.intent,
        confidence=row.confidence,
        channel=row.channel or "unknown",
        in_form=bool(row.in_form),
        ref=ref,
    )


def _ingest(summary: _Summary, row: Any) -> dict[str, Any] | None:
    """Fold one tracker row into its conversation's summary; the message row to store
    for a user or bot text, else None."""
    kind = row.type_name
    timestamp = event_float(row.timestamp)
    if kind == "user":
        data = parse_data(row.data)
        intent = event_dict(event_dict(data.get("parse_data")).get("intent"))
        channel = event_text(data.get("input_channel")) or "unknown"
        name = event_text(intent.get("name")) or event_text(row.intent_name)
        confidence = event_float(intent.get("confidence"))
        text = event_text(data.get("text")) or ""
        in_form = summary.active_loop is not None
        if timestamp is not None:
            summary.seen_at(timestamp)
        summary.channels.add(channel)
        summary.terms[("channel", channel[:255])] += 1
        if summary.user_messages == 0:
            summary.first_text = text
        summary.user_messages += 1
        if confidence is not None:
            summary.min_confidence = (
                confidence
                if summary.min_confidence is None
                else min(summary.min_confidence, confidence)
            )
        if name:
            summary.terms[("intent", name)] += 1
        summary.fallback |= name == FALLBACK_INTENT
        summary.urgent_intent |= name == URGENT_INTENT
        summary.human_intent |= name == HUMAN_INTENT
        redacted = "" if in_form else redact_text(text)
        return {
            "event_id": row.id,
            "sender_id": row.sender_id,
            "kind": "user",
            "timestamp": timestamp or 0.0,
            "text": text,
            "redacted": None if redacted == text else redacted,
            "intent": name,
            "confidence": confidence,
            "channel": channel[:64],
            "in_form": in_form,
            "review_score": _review_score(text, name, confidence, in_form),
        }
    if kind == "bot":
        if timestamp is not None:
            summary.seen_at(timestamp)
        text = event_text(parse_data(row.data).get("text"))
        if not text:
            return None
        redacted = redact_text(text)
        return {
            "event_id": row.id,
            "sender_id": row.sender_id,
            "kind": "bot",
            "timestamp": timestamp or 0.0,
            "text": text,
            "redacted": None if redacted == text else redacted,
            "intent": None,
            "confidence": None,
            "channel": None,
            "in_form": False,
            "review_score": NOT_REVIEWABLE,
        }
    if kind == "action" and row.action_name:
        summary.terms[("action", str(row.action_name)[:255])] += 1
        summary.fallback |= row.action_name in FALLBACK_ACTIONS
    elif kind == "active_loop":
        summary.active_loop = event_text(parse_data(row.data).get("name")) or None
    elif kind in ("session_started", "restart"):
        summary.active_loop = None
    return None


def _review_score(
    text: str, intent: str | None, confidence: float | None, in_form: bool
) -> float | None:
    """What the NLU inbox compares with its threshold (see nlu_inbox.needs_review)."""
    # Form answers (names, phone numbers) are not language to learn from, and
    # "/intent" texts are button payloads, classified with certainty.
    if in_form or text.startswith("/") or not text.strip():
        return NOT_REVIEWABLE
    if intent == FALLBACK_INTENT:
        return FALLBACK_REVIEW_SCORE
    return confidence


def _chunks(values: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# ------------------------------------------------------------------------ background


FEED_INTERVAL_S = 2.0


async def feed_loop(store: ConversationStore, interval: float = FEED_INTERVAL_S) -> None:
    """Keep the store current while the app runs, so that a page never waits for a
    backlog (a first start on a year of conversations, a rebuild): each request only
    reads what arrived since the last pass."""
    while True:
        try:
            await asyncio.to_thread(store.refresh, None)
        except Exception:  # a database blip must not end the feed; the next pass retries
            logger.exception("Staff app: reading new tracker events failed")
        await asyncio.sleep(interval)


def feed_task(store: ConversationStore) -> contextlib.AbstractAsyncContextManager[None]:
    return running(feed_loop(store))
