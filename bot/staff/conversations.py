"""Reading Rasa's `events` table: transcripts, single messages, and what an event means.

Lists, filters, search and counts do not read `events`: they query the conversation
store (bot/staff/store.py), which is fed from it. A transcript reads one
conversation's rows here, through the `sender_id` index Rasa creates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.contract import ANSWER_META_KIND, FACT_RANKING_KEY, STAFF_METADATA_KEY
from bot.staff.events import events, has_events_table, parse_data

logger = logging.getLogger(__name__)

FALLBACK_ACTIONS = frozenset(
    {"action_default_fallback", "action_two_stage_fallback", "utter_default"}
)
HIDDEN_ACTIONS = frozenset({"action_listen"})
# Rasa bookkeeping that says nothing to a reader of the conversation.
HIDDEN_EVENT_TYPES = frozenset({"user_featurization"})


def conversation_ref(secret: str, sender_id: str) -> str:
    """An opaque, stable stand-in for a sender id (WhatsApp sender ids are phone numbers)."""
    digest = hmac.new(secret.encode(), sender_id.encode(), hashlib.sha256).hexdigest()
    return "~" + digest[:16]


def event_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = None if value is None else float(value)
    except (TypeError, ValueError):
        return None
    return number if number is not None and math.isfinite(number) else None


def event_text(value: Any) -> str | None:
    """A string field of a stored event, or None when Rasa (or anyone) stored another type."""
    return value if isinstance(value, str) else None


def event_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def event_list(value: Any) -> list[Any]:
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
    # "username (title)" of the staff member who sent a bot message in a live takeover.
    staff: str | None = None


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
    base = {"event_id": row.id, "timestamp": event_float(row.timestamp) or 0.0}
    kind = row.type_name
    if kind == "user":
        parsed = event_dict(data.get("parse_data"))
        intent = event_dict(parsed.get("intent"))
        entities = parsed.get("entities")
        ranking = parsed.get("intent_ranking")
        return TranscriptEvent(
            kind="user",
            text=event_text(data.get("text")) or "",
            intent=event_text(intent.get("name")) or event_text(row.intent_name),
            confidence=event_float(intent.get("confidence")),
            entities=[e for e in event_list(entities) if isinstance(e, dict)],
            ranking=[
                (r["name"], event_float(r.get("confidence")) or 0.0)
                for r in event_list(ranking)
                if isinstance(r, dict) and event_text(r.get("name"))
            ],
            fact_ranking=[
                (r["id"], event_float(r.get("score")) or 0.0)
                for r in event_list(parsed.get(FACT_RANKING_KEY))
                if isinstance(r, dict) and event_text(r.get("id"))
            ],
            channel=event_text(data.get("input_channel")),
            **base,
        )
    if kind == "bot":
        payload = event_dict(data.get("data"))
        buttons = payload.get("buttons")
        return TranscriptEvent(
            kind="bot",
            text=event_text(data.get("text")) or "",
            buttons=[b for b in buttons if isinstance(b, dict)]
            if isinstance(buttons, list)
            else [],
            answer=_answer_meta(payload.get("custom")),
            staff=_staff_label(data.get("metadata")),
            **base,
        )
    if kind == "action":
        return TranscriptEvent(
            kind="action",
            name=event_text(data.get("name")) or event_text(row.action_name),
            policy=event_text(data.get("policy")),
            confidence=event_float(data.get("confidence")),
            **base,
        )
    if kind == "slot":
        value = data.get("value")
        return TranscriptEvent(
            kind="slot",
            name=event_text(data.get("name")),
            value=None if value is None else str(value),
            **base,
        )
    if kind == "active_loop":
        return TranscriptEvent(kind="loop", name=event_text(data.get("name")), **base)
    if kind == "session_started":
        return TranscriptEvent(kind="session", **base)
    return TranscriptEvent(kind="other", name=kind, **base)


def _staff_label(metadata: Any) -> str | None:
    """Who wrote a takeover message (bot.staff.takeover stores it in the event)."""
    staff = event_dict(event_dict(metadata).get(STAFF_METADATA_KEY))
    name = event_text(staff.get("username"))
    return f"{name} ({event_text(staff.get('title')) or 'staff'})" if name else None


def _answer_meta(custom: Any) -> AnswerMeta | None:
    if not isinstance(custom, dict):
        return None
    meta = custom.get("data") if isinstance(custom.get("data"), dict) else custom
    if meta.get("kind") != ANSWER_META_KIND:
        return None
    fact_ids = meta.get("fact_ids")
    sources = meta.get("sources")
    return AnswerMeta(
        topic=event_text(meta.get("topic")),
        fact_ids=[str(f) for f in event_list(fact_ids)],
        sources=[s for s in event_list(sources) if isinstance(s, dict)],
    )
