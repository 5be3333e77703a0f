"""The staff app's tables on the shared app database (`bot.db.Base`).

Conversations themselves stay in Rasa's tracker store; rows here point at them by
`sender_id` (and at single messages by the tracker's event id), so deleting a
patient's data means deleting by `sender_id` in both databases (see retention.py).

Times are naive UTC, like `bot.handoff`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)

from bot.db import Base

ROLES = ("viewer", "reviewer", "admin")
CORRECTION_STATUSES = ("confirmed", "corrected", "dismissed")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'reviewer', 'admin')", name="ck_staff_role"),
    )

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True, index=True)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_login_at = Column(DateTime, nullable=True)


class StaffSession(Base):
    """A logged-in browser. The cookie holds a signed random token; we store its hash,
    so a copy of this table cannot be replayed as cookies."""

    __tablename__ = "staff_sessions"

    token_hash = Column(String(64), primary_key=True)
    user_id = Column(Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow, index=True)


class ConversationReview(Base):
    __tablename__ = "conversation_reviews"

    sender_id = Column(String(255), primary_key=True)
    reviewed_by = Column(String(64), nullable=False)
    reviewed_at = Column(DateTime, nullable=False, default=utcnow)


class StaffAddition:
    """Columns of a row a staff member adds to one conversation: who added it, when."""

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), nullable=False, index=True)
    created_by = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class ConversationTag(StaffAddition, Base):
    __tablename__ = "conversation_tags"
    __table_args__ = (UniqueConstraint("sender_id", "tag", name="uq_conversation_tag"),)

    tag = Column(String(40), nullable=False, index=True)


class ConversationNote(StaffAddition, Base):
    __tablename__ = "conversation_notes"

    body = Column(Text, nullable=False)


class MessageFlag(StaffAddition, Base):
    """A single message marked for attention (wrong answer, missing fact, tone...)."""

    __tablename__ = "message_flags"
    __table_args__ = (UniqueConstraint("sender_id", "event_id", name="uq_message_flag"),)

    event_id = Column(Integer, nullable=False)
    reason = Column(String(200), nullable=False, default="")


class NluCorrection(StaffAddition, Base):
    """A staff decision on one user message from the NLU inbox.

    `text` and `entities_json` are copied from the tracker so the export keeps working
    without re-reading events; retention deletes them with the conversation.
    """

    __tablename__ = "nlu_corrections"
    __table_args__ = (
        UniqueConstraint("sender_id", "event_id", name="uq_nlu_correction"),
        CheckConstraint(
            "status IN ('confirmed', 'corrected', 'dismissed')", name="ck_correction_status"
        ),
    )

    event_id = Column(Integer, nullable=False)
    text = Column(Text, nullable=False)
    entities_json = Column(Text, nullable=False, default="[]")
    predicted_intent = Column(String(120), nullable=True)
    predicted_confidence = Column(Float, nullable=True)
    intent = Column(String(120), nullable=True)  # None when dismissed
    status = Column(String(16), nullable=False)


class AuditEntry(Base):
    """Who viewed, exported or changed what. `target` is pseudonymised when the
    conversation it names is deleted (see retention.forget_senders)."""

    __tablename__ = "staff_audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    actor = Column(String(64), nullable=False, index=True)
    action = Column(String(40), nullable=False, index=True)
    target = Column(String(255), nullable=True, index=True)
    detail = Column(Text, nullable=True)
    ip = Column(String(64), nullable=True)
