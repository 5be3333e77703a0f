"""Query layer over Rasa's `events` table: conversation summaries and transcripts.

Conversation-level filters (channel, intent, confidence, fallback, free text) need
values buried in each event's JSON `data`, which SQLite and PostgreSQL query in
different ways. Instead of two SQL dialects, `ConversationIndex` keeps one small
summary per conversation in memory and brings it up to date incrementally (only rows
with an id above the last one seen), rebuilding when rows were deleted. At a clinic's
volume (thousands of conversations within the retention period) this stays in the
megabytes and a refresh costs one `count(*)` plus the new rows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import math
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.contract import FACT_RANKING_KEY
from bot.staff.events import events, has_events_table, parse_data
from bot.staff.redact import redact_text

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset(
    {"action_default_fallback", "action_two_stage_fallback", "utter_default"}
)
URGENT_INTENT = "report_urgent"
HUMAN_INTENT = "request_human"
HIDDEN_ACTIONS = frozenset({"action_listen"})
# Rasa bookkeeping that says nothing to a reader of the conversation.
HIDDEN_EVENT_TYPES = frozenset({"user_featurization"})
ANSWER_META_KIND = "answer_meta"


def conversation_ref(secret: str, sender_id: str) -> str:
    """An opaque, stable stand-in for a sender id (WhatsApp sender ids are phone numbers)."""
    digest = hmac.new(secret.encode(), sender_id.encode(), hashlib.sha256).hexdigest()
    return "~" + digest[:16]


# ---------------------------------------------------------------------------- index


@dataclass
class IndexedMessage:
    """One user message, as much as lists and the NLU inbox need."""

    event_id: int
    sender_id: str
    timestamp: float
    text: str
    intent: str | None
    confidence: float | None
    channel: str
    in_form: bool  # typed while a form was asking for a slot (names, phones...)


@dataclass
class ConversationSummary:
    sender_id: str
    ref: str
    first_ts: float = math.inf
    last_ts: float = 0.0
    channels: set[str] = field(default_factory=set)
    messages: list[IndexedMessage] = field(default_factory=list)
    bot_texts: list[str] = field(default_factory=list)
    intents: Counter[str] = field(default_factory=Counter)
    actions: set[str] = field(default_factory=set)
    fallback: bool = False
    urgent_intent: bool = False
    human_intent: bool = False
    active_loop: str | None = None
    _search: str | None = None
    _search_redacted: str | None = None

    @property
    def user_message_count(self) -> int:
        return len(self.messages)

    @property
    def min_confidence(self) -> float | None:
        values = [m.confidence for m in self.messages if m.confidence is not None]
        return min(values) if values else None

    @property
    def channel(self) -> str:
        return ", ".join(sorted(self.channels)) or "unknown"

    @property
    def first_text(self) -> str:
        return self.messages[0].text if self.messages else ""

    def search_text(self, redacted: bool = False) -> str:
        """Everything free-text search looks at; `redacted` for roles without contacts,
        so a viewer cannot find a conversation by a phone number or a name typed into
        the contact form, which they may not see."""
        if self._search is None:
            parts = [self.sender_id, *(m.text for m in self.messages), *self.bot_texts]
            self._search = "\n".join(parts).casefold()
            visible = [redact_text(m.text) for m in self.messages if not m.in_form]
            self._search_redacted = "\n".join(
                [*visible, *(redact_text(t) for t in self.bot_texts)]
            ).casefold()
        return self._search_redacted if redacted else self._search  # type: ignore[return-value]

    def confidences(self) -> Iterable[float]:
        return (m.confidence for m in self.messages if m.confidence is not None)


class ConversationIndex:
    """Summaries of every conversation in the tracker store, kept current on demand."""

    def __init__(self, engine: Engine, secret: str) -> None:
        self.engine = engine
        self.secret = secret
        self._lock = threading.Lock()
        self._by_sender: dict[str, ConversationSummary] = {}
        self._by_ref: dict[str, str] = {}
        self._last_id = 0
        self._rows_seen = 0
        self._unreadable: set[int] = set()

    def refresh(self) -> None:
        with self._lock:
            if not has_events_table(self.engine):
                self._reset()
                return
            with self.engine.connect() as conn:
                total = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
                rows = conn.execute(
                    sa.select(events).where(events.c.id > self._last_id).order_by(events.c.id)
                ).all()
                if self._rows_seen + len(rows) != total:
                    # Rows were deleted (purge, patient request): start over.
                    self._reset()
                    rows = conn.execute(sa.select(events).order_by(events.c.id)).all()
            for row in rows:
                try:
                    self._ingest(row)
                except Exception as error:  # any row Rasa stored must not take pages down
                    self._skip(row, error)
            self._rows_seen += len(rows)

    def _skip(self, row: Any, error: Exception) -> None:
        """Leave out a row the index can't read, and say so once (no row content)."""
        event_id = getattr(row, "id", None)
        if isinstance(event_id, int):
            self._last_id = max(self._last_id, event_id)
            if event_id in self._unreadable:
                return
            self._unreadable.add(event_id)
        logger.warning(
            "Staff app: skipped unreadable tracker event id=%s type=%s (%s); the "
            "conversation is shown without it.",
            event_id,
            _text(getattr(row, "type_name", None)),
            type(error).__name__,
        )

    def _reset(self) -> None:
        self._by_sender.clear()
        self._by_ref.clear()
        self._last_id = 0
        self._rows_seen = 0

    def _summary(self, sender_id: str) -> ConversationSummary:
        summary = self._by_sender.get(sender_id)
        if summary is None:
            summary = ConversationSummary(sender_id, conversation_ref(self.secret, sender_id))
            self._by_sender[sender_id] = summary
            self._by_ref[summary.ref] = sender_id
        return summary

    def _ingest(self, row: Any) -> None:
        self._last_id = max(self._last_id, row.id)
        summary = self._summary(row.sender_id)
        summary._search = summary._search_redacted = None
        kind = row.type_name
        timestamp = _float(row.timestamp)
        if kind in ("user", "bot") and timestamp is not None:
            summary.first_ts = min(summary.first_ts, timestamp)
            summary.last_ts = max(summary.last_ts, timestamp)
        if kind == "user":
            data = parse_data(row.data)
            intent = _dict(_dict(data.get("parse_data")).get("intent"))
            channel = _text(data.get("input_channel")) or "unknown"
            summary.channels.add(channel)
            name = _text(intent.get("name")) or _text(row.intent_name)
            confidence = _float(intent.get("confidence"))
            summary.messages.append(
                IndexedMessage(
                    event_id=row.id,
                    sender_id=row.sender_id,
                    timestamp=_float(row.timestamp) or 0.0,
                    text=_text(data.get("text")) or "",
                    intent=name,
                    confidence=confidence,
                    channel=channel,
                    in_form=summary.active_loop is not None,
                )
            )
            if name:
                summary.intents[name] += 1
            summary.fallback |= name == FALLBACK_INTENT
            summary.urgent_intent |= name == URGENT_INTENT
            summary.human_intent |= name == HUMAN_INTENT
        elif kind == "bot":
            text = _text(parse_data(row.data).get("text"))
            if text:
                summary.bot_texts.append(text)
        elif kind == "action" and row.action_name:
            summary.actions.add(row.action_name)
            summary.fallback |= row.action_name in FALLBACK_ACTIONS
        elif kind == "active_loop":
            summary.active_loop = _text(parse_data(row.data).get("name")) or None
        elif kind in ("session_started", "restart"):
            summary.active_loop = None

    # ---- reads -------------------------------------------------------------------------
    def conversations(self) -> list[ConversationSummary]:
        """Conversations in which the patient wrote at least once."""
        with self._lock:
            return [s for s in self._by_sender.values() if s.messages]

    def get(self, sender_id: str) -> ConversationSummary | None:
        with self._lock:
            return self._by_sender.get(sender_id)

    def resolve(self, key: str) -> str | None:
        """A sender id from a URL key: the sender id itself or its `~ref`."""
        with self._lock:
            if key.startswith("~") and key in self._by_ref:
                return self._by_ref[key]
            return key if key in self._by_sender else None

    def messages(self) -> list[IndexedMessage]:
        with self._lock:
            return [m for s in self._by_sender.values() for m in s.messages]


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = None if value is None else float(value)
    except (TypeError, ValueError):
        return None
    return number if number is not None and math.isfinite(number) else None


def _text(value: Any) -> str | None:
    """A string field of a stored event, or None when Rasa (or anyone) stored another type."""
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# ------------------------------------------------------------------------ transcript


@dataclass
class AnswerMeta:
    topic: str | None
    fact_ids: list[str]
    sources: list[dict[str, Any]]


@dataclass
class TranscriptEvent:
    event_id: int
    kind: str  # user | bot | action | slot | loop | session | other
    timestamp: float
    text: str = ""
    intent: str | None = None
    confidence: float | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    ranking: list[tuple[str, float]] = field(default_factory=list)
    # The fact ranker's best facts with their scores (bot/rasa_ext/fact_ranker.py).
    fact_ranking: list[tuple[str, float]] = field(default_factory=list)
    channel: str | None = None
    buttons: list[dict[str, Any]] = field(default_factory=list)
    answer: AnswerMeta | None = None
    name: str | None = None  # action, slot or form name
    value: str | None = None  # slot value, shown as text
    policy: str | None = None


@dataclass
class Turn:
    """A user message and everything the bot did until the next one."""

    user: TranscriptEvent | None
    # Bot replies and steps (actions, slots, forms) in the order they happened.
    events: list[TranscriptEvent] = field(default_factory=list)
    new_session: bool = False

    @property
    def replies(self) -> list[TranscriptEvent]:
        return [e for e in self.events if e.kind == "bot"]


FORM_ANSWER_MARK = "[answer to the contact form hidden]"
SLOT_VALUE_MARK = "[hidden]"
# Slots whose values say nothing about who the patient is.
PUBLIC_CONTACT_SLOTS = frozenset({"contact_channel", "contact_consent"})


def hide_form_answers(turns: list[Turn]) -> list[Turn]:
    """Turns for roles without contact details: what the patient typed while a form
    was asking (names, numbers, times) and the contact slots' values are hidden."""
    active = False
    hidden: list[Turn] = []
    for turn in turns:
        if turn.new_session:
            active = False
        user = turn.user
        if user is not None and active:
            user = dataclasses.replace(user, text=FORM_ANSWER_MARK, entities=[])
        events = []
        for event in turn.events:
            if event.kind == "loop":
                active = bool(event.name)
            if (
                event.kind == "slot"
                and (event.name or "").startswith("contact_")
                and event.name not in PUBLIC_CONTACT_SLOTS
                and event.value is not None
            ):
                event = dataclasses.replace(event, value=SLOT_VALUE_MARK)
            events.append(event)
        hidden.append(dataclasses.replace(turn, user=user, events=events))
    return hidden


def load_events(engine: Engine, sender_id: str) -> list[Any]:
    if not has_events_table(engine):
        return []
    with engine.connect() as conn:
        return conn.execute(
            sa.select(events).where(events.c.sender_id == sender_id).order_by(events.c.id)
        ).all()


def load_event(engine: Engine, sender_id: str, event_id: int) -> TranscriptEvent | None:
    """One user message, re-read from the tracker (forms never carry message text)."""
    if not has_events_table(engine):
        return None
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(events).where(
                events.c.id == event_id,
                events.c.sender_id == sender_id,
                events.c.type_name == "user",
            )
        ).first()
    return _safe_event(row) if row is not None else None


def load_user_events(engine: Engine, event_ids: list[int]) -> dict[int, TranscriptEvent]:
    if not event_ids or not has_events_table(engine):
        return {}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(events).where(events.c.id.in_(event_ids))).all()
    return {row.id: _safe_event(row) for row in rows}


def build_transcript(rows: Iterable[Any]) -> list[Turn]:
    turns: list[Turn] = [Turn(user=None)]
    for row in rows:
        if row.type_name in HIDDEN_EVENT_TYPES:
            continue
        event = _safe_event(row)
        turn = turns[-1]
        if event.kind == "session":
            turns.append(Turn(user=None, new_session=True))
        elif event.kind == "user":
            turns.append(Turn(user=event))
        elif event.kind == "bot":
            _add_reply(turn, event)
        elif event.kind == "action" and event.name in HIDDEN_ACTIONS:
            continue
        else:
            turn.events.append(event)
    return [t for t in turns if t.user or t.events or t.new_session]


def _add_reply(turn: Turn, event: TranscriptEvent) -> None:
    # answer_meta arrives as its own custom message after the answer text: show the
    # facts and sources under the reply they belong to.
    if event.answer is not None and not event.text:
        for reply in reversed(turn.replies):
            if reply.text and reply.answer is None:
                reply.answer = event.answer
                return
    turn.events.append(event)


def _safe_event(row: Any) -> TranscriptEvent:
    """`_event`, or a placeholder for a row it can't read: a transcript always renders."""
    try:
        return _event(row)
    except Exception as error:
        logger.warning(
            "Staff app: unreadable tracker event id=%s in a transcript (%s).",
            getattr(row, "id", None),
            type(error).__name__,
        )
        event_id = row.id if isinstance(getattr(row, "id", None), int) else 0
        return TranscriptEvent(event_id=event_id, kind="other", timestamp=0.0, name="unreadable")


def _event(row: Any) -> TranscriptEvent:
    data = parse_data(row.data)
    base = {"event_id": row.id, "timestamp": _float(row.timestamp) or 0.0}
    kind = row.type_name
    if kind == "user":
        parsed = _dict(data.get("parse_data"))
        intent = _dict(parsed.get("intent"))
        entities = parsed.get("entities")
        ranking = parsed.get("intent_ranking")
        return TranscriptEvent(
            kind="user",
            text=_text(data.get("text")) or "",
            intent=_text(intent.get("name")) or _text(row.intent_name),
            confidence=_float(intent.get("confidence")),
            entities=[e for e in _list(entities) if isinstance(e, dict)],
            ranking=[
                (r["name"], _float(r.get("confidence")) or 0.0)
                for r in _list(ranking)
                if isinstance(r, dict) and _text(r.get("name"))
            ],
            fact_ranking=[
                (r["id"], _float(r.get("score")) or 0.0)
                for r in _list(parsed.get(FACT_RANKING_KEY))
                if isinstance(r, dict) and _text(r.get("id"))
            ],
            channel=_text(data.get("input_channel")),
            **base,
        )
    if kind == "bot":
        payload = _dict(data.get("data"))
        buttons = payload.get("buttons")
        return TranscriptEvent(
            kind="bot",
            text=_text(data.get("text")) or "",
            buttons=[b for b in buttons if isinstance(b, dict)]
            if isinstance(buttons, list)
            else [],
            answer=_answer_meta(payload.get("custom")),
            **base,
        )
    if kind == "action":
        return TranscriptEvent(
            kind="action",
            name=_text(data.get("name")) or _text(row.action_name),
            policy=_text(data.get("policy")),
            confidence=_float(data.get("confidence")),
            **base,
        )
    if kind == "slot":
        value = data.get("value")
        return TranscriptEvent(
            kind="slot",
            name=_text(data.get("name")),
            value=None if value is None else str(value),
            **base,
        )
    if kind == "active_loop":
        return TranscriptEvent(kind="loop", name=_text(data.get("name")), **base)
    if kind == "session_started":
        return TranscriptEvent(kind="session", **base)
    return TranscriptEvent(kind="other", name=kind, **base)


def _answer_meta(custom: Any) -> AnswerMeta | None:
    if not isinstance(custom, dict):
        return None
    meta = custom.get("data") if isinstance(custom.get("data"), dict) else custom
    if meta.get("kind") != ANSWER_META_KIND:
        return None
    fact_ids = meta.get("fact_ids")
    sources = meta.get("sources")
    return AnswerMeta(
        topic=_text(meta.get("topic")),
        fact_ids=[str(f) for f in _list(fact_ids)],
        sources=[s for s in _list(sources) if isinstance(s, dict)],
    )
