"""The NLU inbox: user messages the model was unsure about, and staff decisions on them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.staff.conversations import (
    FALLBACK_INTENT,
    ConversationIndex,
    IndexedMessage,
    TranscriptEvent,
    load_event,
)
from bot.staff.domain import DomainInfo
from bot.staff.models import NluCorrection, utcnow

STATUSES = ("pending", "handled", "all")


class InboxError(ValueError):
    """A decision that cannot be recorded; the message says why."""


def needs_review(message: IndexedMessage, threshold: float) -> bool:
    # Form answers (names, phone numbers) are not language to learn from, and
    # "/intent" texts are button payloads, classified with certainty.
    if message.in_form or message.text.startswith("/") or not message.text.strip():
        return False
    if message.intent == FALLBACK_INTENT:
        return True
    return message.confidence is not None and message.confidence < threshold


def corrections_by_message(engine: Engine) -> dict[tuple[str, int], NluCorrection]:
    with session_scope(engine) as session:
        rows = session.execute(sa.select(NluCorrection)).scalars()
        return {(c.sender_id, c.event_id): c for c in rows}


@dataclass(frozen=True)
class InboxQuery:
    threshold: float
    status: str = "pending"
    intent: str = ""


def select_messages(
    index: ConversationIndex,
    corrections: dict[tuple[str, int], NluCorrection],
    query: InboxQuery,
) -> list[IndexedMessage]:
    """Matching messages, newest first."""
    picked = []
    for message in index.messages():
        if not needs_review(message, query.threshold):
            continue
        if query.intent and message.intent != query.intent:
            continue
        handled = (message.sender_id, message.event_id) in corrections
        if (query.status == "pending" and handled) or (query.status == "handled" and not handled):
            continue
        picked.append(message)
    picked.sort(key=lambda m: (m.timestamp, m.event_id), reverse=True)
    return picked


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
