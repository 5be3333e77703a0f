"""What staff add to a conversation: review mark, tags, notes, message flags.

Also the per-conversation marks (reviewed, tags, handoffs, flags, notes) that a page
of the list shows, loaded for that page's conversations in a handful of queries.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.handoff import HandoffRequest
from bot.staff.models import (
    ConversationNote,
    ConversationReview,
    ConversationTag,
    MessageFlag,
    NluCorrection,
    utcnow,
)

TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_NOTE_CHARS = 4000
MAX_FLAG_REASON_CHARS = 200
MARKS_CHUNK = 500  # sender ids per IN (...) list


class AnnotationError(ValueError):
    """Input staff can fix; the message says how."""


def normalize_tag(raw: str) -> str:
    tag = "-".join(raw.strip().lower().split())
    if not TAG_PATTERN.match(tag):
        raise AnnotationError(
            "A tag is 1-40 characters: letters, digits, '-' or '_', starting with a "
            f"letter or digit (got {raw!r})."
        )
    return tag


# ------------------------------------------------------------------------- list marks


@dataclass
class HandoffMark:
    urgent: bool = False
    open: int = 0
    reasons: set[str] = field(default_factory=set)


@dataclass
class ConversationMarks:
    reviewed: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    tags: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    handoffs: dict[str, HandoffMark] = field(default_factory=dict)
    flags: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)

    def all_tags(self) -> Counter[str]:
        return Counter(tag for tags in self.tags.values() for tag in tags)


def load_marks(engine: Engine, sender_ids: Sequence[str]) -> ConversationMarks:
    """The marks of these conversations (a page of the list, a chunk of an export):
    a few queries per chunk, never every conversation's marks."""
    marks = ConversationMarks()
    with session_scope(engine) as session:
        for start in range(0, len(sender_ids), MARKS_CHUNK):
            _load_marks(session, marks, list(sender_ids[start : start + MARKS_CHUNK]))
    return marks


def _load_marks(session: Session, marks: ConversationMarks, chunk: list[str]) -> None:
    for sender_id, by, at in session.execute(
        sa.select(
            ConversationReview.sender_id,
            ConversationReview.reviewed_by,
            ConversationReview.reviewed_at,
        ).where(ConversationReview.sender_id.in_(chunk))
    ):
        marks.reviewed[sender_id] = (by, at)
    for sender_id, tag in session.execute(
        sa.select(ConversationTag.sender_id, ConversationTag.tag).where(
            ConversationTag.sender_id.in_(chunk)
        )
    ):
        marks.tags[sender_id].add(tag)
    for sender_id, urgency, status, reason in session.execute(
        sa.select(
            HandoffRequest.sender_id,
            HandoffRequest.urgency,
            HandoffRequest.status,
            HandoffRequest.reason,
        ).where(HandoffRequest.sender_id.in_(chunk))
    ):
        mark = marks.handoffs.setdefault(sender_id, HandoffMark())
        mark.urgent |= urgency == "urgent"
        mark.open += status == "open"
        mark.reasons.add(reason)
    for sender_id, count in session.execute(
        sa.select(MessageFlag.sender_id, sa.func.count())
        .where(MessageFlag.sender_id.in_(chunk))
        .group_by(MessageFlag.sender_id)
    ):
        marks.flags[sender_id] = int(count)
    for sender_id, count in session.execute(
        sa.select(ConversationNote.sender_id, sa.func.count())
        .where(ConversationNote.sender_id.in_(chunk))
        .group_by(ConversationNote.sender_id)
    ):
        marks.notes[sender_id] = int(count)


def all_tags(engine: Engine) -> list[str]:
    """Every tag in use, for the filter form's suggestions (a tag vocabulary is small)."""
    with session_scope(engine) as session:
        return list(
            session.execute(
                sa.select(ConversationTag.tag.distinct()).order_by(ConversationTag.tag)
            ).scalars()
        )


# -------------------------------------------------------------------- one conversation


@dataclass
class ConversationDetail:
    review: ConversationReview | None
    tags: list[ConversationTag]
    notes: list[ConversationNote]
    flags: dict[int, MessageFlag]
    corrections: dict[int, NluCorrection]
    handoffs: list[HandoffRequest]


def load_detail(engine: Engine, sender_id: str) -> ConversationDetail:
    with session_scope(engine) as session:

        def rows(model: type, *order: sa.ColumnElement) -> list:
            query = sa.select(model).where(model.sender_id == sender_id).order_by(*order)
            return list(session.execute(query).scalars())

        return ConversationDetail(
            review=session.get(ConversationReview, sender_id),
            tags=rows(ConversationTag, ConversationTag.tag),
            notes=rows(ConversationNote, ConversationNote.id),
            flags={f.event_id: f for f in rows(MessageFlag, MessageFlag.id)},
            corrections={c.event_id: c for c in rows(NluCorrection, NluCorrection.id)},
            handoffs=rows(HandoffRequest, HandoffRequest.created_at),
        )


def set_reviewed(engine: Engine, sender_id: str, reviewed: bool, by: str) -> None:
    with session_scope(engine) as session:
        existing = session.get(ConversationReview, sender_id)
        if reviewed and existing is None:
            session.add(ConversationReview(sender_id=sender_id, reviewed_by=by))
        elif reviewed and existing is not None:
            existing.reviewed_by, existing.reviewed_at = by, utcnow()
        elif existing is not None:
            session.delete(existing)


def add_tag(engine: Engine, sender_id: str, raw_tag: str, by: str) -> str:
    tag = normalize_tag(raw_tag)
    with session_scope(engine) as session:
        exists = session.execute(
            sa.select(ConversationTag.id).where(
                ConversationTag.sender_id == sender_id, ConversationTag.tag == tag
            )
        ).first()
        if exists is None:
            session.add(ConversationTag(sender_id=sender_id, tag=tag, created_by=by))
    return tag


def remove_tag(engine: Engine, sender_id: str, tag: str) -> bool:
    with session_scope(engine) as session:
        result = session.execute(
            sa.delete(ConversationTag).where(
                ConversationTag.sender_id == sender_id, ConversationTag.tag == tag
            )
        )
        return bool(result.rowcount)


def add_note(engine: Engine, sender_id: str, body: str, by: str) -> ConversationNote:
    body = body.strip()
    if not body:
        raise AnnotationError("The note is empty.")
    if len(body) > MAX_NOTE_CHARS:
        raise AnnotationError(f"Notes are limited to {MAX_NOTE_CHARS} characters.")
    note = ConversationNote(sender_id=sender_id, body=body, created_by=by)
    with session_scope(engine) as session:
        session.add(note)
    return note


def set_flag(
    engine: Engine, sender_id: str, event_id: int, flagged: bool, reason: str, by: str
) -> None:
    reason = " ".join(reason.split())[:MAX_FLAG_REASON_CHARS]
    with session_scope(engine) as session:
        existing = session.execute(
            sa.select(MessageFlag).where(
                MessageFlag.sender_id == sender_id, MessageFlag.event_id == event_id
            )
        ).scalar_one_or_none()
        if flagged and existing is None:
            session.add(
                MessageFlag(sender_id=sender_id, event_id=event_id, reason=reason, created_by=by)
            )
        elif flagged and existing is not None:
            existing.reason, existing.created_by, existing.created_at = reason, by, utcnow()
        elif existing is not None:
            session.delete(existing)
