"""The NLU inbox: user messages the model was unsure about, and staff decisions on them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.contract import FALLBACK_INTENT
from bot.db import session_scope
from bot.staff.conversations import TranscriptEvent, load_event
from bot.staff.domain import DomainInfo
from bot.staff.models import NluCorrection, utcnow
from bot.staff.store import IndexedMessage, conversations_t, indexed_message, messages_t

STATUSES = ("pending", "handled", "all")


class InboxError(ValueError):
    """A decision that cannot be recorded; the message says why."""


@dataclass(frozen=True)
class InboxQuery:
    threshold: float
    status: str = "pending"
    intent: str = ""


def _conditions(query: InboxQuery) -> list[sa.ColumnElement[bool]]:
    m = messages_t.c
    # review_score is NULL for what is never reviewed (form answers, button payloads,
    # bot texts) and below every threshold for a fallback: see store._review_score.
    checks: list[sa.ColumnElement[bool]] = [m.review_score < query.threshold]
    if query.intent:
        checks.append(m.intent == query.intent)
    handled = sa.exists().where(
        NluCorrection.sender_id == m.sender_id, NluCorrection.event_id == m.event_id
    )
    if query.status == "pending":
        checks.append(sa.not_(handled))
    elif query.status == "handled":
        checks.append(handled)
    return checks


def count_messages(conn: Connection, query: InboxQuery) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(messages_t).where(*_conditions(query))
        ).scalar_one()
    )


def select_messages(
    conn: Connection, query: InboxQuery, offset: int, limit: int
) -> list[IndexedMessage]:
    """A page of the matching messages, newest first."""
    # The page's ids first, from the (review_score, timestamp, sender_id) index alone,
    # then only those rows: sorting every matching row with its text is what costs.
    page = (
        sa.select(messages_t.c.event_id)
        .where(*_conditions(query))
        .order_by(messages_t.c.timestamp.desc(), messages_t.c.event_id.desc())
        .offset(offset)
        .limit(limit)
    ).subquery()
    rows = conn.execute(
        sa.select(messages_t, conversations_t.c.ref)
        .join(page, page.c.event_id == messages_t.c.event_id)
        .join(conversations_t, conversations_t.c.sender_id == messages_t.c.sender_id)
        .order_by(messages_t.c.timestamp.desc(), messages_t.c.event_id.desc())
    ).all()
    return [indexed_message(row, row.ref) for row in rows]


def corrections_for(
    engine: Engine, messages: list[IndexedMessage]
) -> dict[tuple[str, int], NluCorrection]:
    """The staff decisions on these messages (a page of the inbox)."""
    if not messages:
        return {}
    wanted = {(m.sender_id, m.event_id) for m in messages}
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(NluCorrection).where(
                NluCorrection.event_id.in_([m.event_id for m in messages])
            )
        ).scalars()
        return {(c.sender_id, c.event_id): c for c in rows if (c.sender_id, c.event_id) in wanted}


def classifier_guess(event: TranscriptEvent, domain: DomainInfo) -> str | None:
    """What the classifier thought, looking past nlu_fallback to the ranking."""
    allowed = set(domain.correctable_intents) or None
    if event.intent and event.intent != FALLBACK_INTENT:
        return event.intent
    for name, _confidence in event.ranking:
        if name != FALLBACK_INTENT and (allowed is None or name in allowed):
            return name
    return None


def decide(
    app_engine: Engine,
    tracker_engine: Engine,
    domain: DomainInfo,
    *,
    sender_id: str,
    event_id: int,
    intent: str | None,
    dismiss: bool,
    by: str,
) -> NluCorrection:
    """Record (or replace) the decision on one message."""
    event = load_event(tracker_engine, sender_id, event_id)
    if event is None:
        raise InboxError("That message no longer exists (it may have been deleted).")
    guess = classifier_guess(event, domain)
    if dismiss:
        status, chosen = "dismissed", None
    else:
        if not intent or intent not in domain.correctable_intents:
            raise InboxError(f"Choose one of the domain's intents (got {intent!r}).")
        status, chosen = ("confirmed" if intent == guess else "corrected"), intent
    entities = [
        {key: e[key] for key in ("entity", "start", "end", "value") if key in e}
        for e in event.entities
        if e.get("entity") in domain.entities
    ]
    with session_scope(app_engine) as session:
        row = session.execute(
            sa.select(NluCorrection).where(
                NluCorrection.sender_id == sender_id, NluCorrection.event_id == event_id
            )
        ).scalar_one_or_none()
        if row is None:
            row = NluCorrection(sender_id=sender_id, event_id=event_id)
            session.add(row)
        row.text = event.text
        row.entities_json = json.dumps(entities)
        row.predicted_intent = guess or event.intent
        row.predicted_confidence = event.confidence
        row.intent = chosen
        row.status = status
        row.created_by = by
        row.created_at = utcnow()
    return row


def undo(app_engine: Engine, correction_id: int) -> NluCorrection | None:
    with session_scope(app_engine) as session:
        row = session.get(NluCorrection, correction_id)
        if row is not None:
            session.delete(row)
        return row
