"""WhatsApp's 24-hour customer-service window, and the number to reply to inside it.

WhatsApp lets a business send free-form messages only within 24 hours of the patient's
last message. A conversation id is a keyed hash of the number (conversation_ids.py), so
a staff reply sent later, through Rasa's HTTP API, has no number to go to. This table
keeps the number beside the conversation id for exactly that window: rows older than
24 hours are deleted whenever a new message arrives, and are never used, so no number
outlives the time it could be used in.

It lives in the app database (``MESO_APP_DB_URL``), which the Rasa server writes (on
each incoming WhatsApp message) and the staff app reads (time left, refusals).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy import Column, DateTime, String
from sqlalchemy.engine import Engine
from sqlalchemy.orm import synonym

from bot.db import Base, app_engine, session_scope

WINDOW = timedelta(hours=24)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class WhatsAppReplyWindow(Base):
    __tablename__ = "whatsapp_reply_windows"

    conversation_id = Column(String(64), primary_key=True)
    number = Column(String(32), nullable=False)
    last_inbound_at = Column(DateTime, nullable=False, index=True)
    # Deletion requests (bot.staff.retention) delete rows by `sender_id`.
    sender_id = synonym("conversation_id")


@lru_cache(maxsize=8)
def _ready(engine: Engine) -> Engine:
    WhatsAppReplyWindow.__table__.create(engine, checkfirst=True)
    return engine


def _engine(engine: Engine | None) -> Engine:
    return _ready(engine or app_engine())


def record_inbound(
    conversation_id: str, number: str, engine: Engine | None = None, now: datetime | None = None
) -> None:
    """The patient wrote now: (re)open the window, and forget expired numbers."""
    now = now or utcnow()
    with session_scope(_engine(engine)) as session:
        session.merge(
            WhatsAppReplyWindow(conversation_id=conversation_id, number=number, last_inbound_at=now)
        )
        session.execute(
            sa.delete(WhatsAppReplyWindow).where(WhatsAppReplyWindow.last_inbound_at < now - WINDOW)
        )


def last_inbound(conversation_id: str, engine: Engine | None = None) -> datetime | None:
    """When the patient last wrote (naive UTC); None if not within the last day or so
    (expired rows are deleted as new messages arrive)."""
    with session_scope(_engine(engine)) as session:
        row = session.get(WhatsAppReplyWindow, conversation_id)
        return None if row is None else row.last_inbound_at


def reply_number(conversation_id: str, engine: Engine | None = None) -> str | None:
    """The number to send a free-form message to, or None outside the window."""
    with session_scope(_engine(engine)) as session:
        row = session.get(WhatsAppReplyWindow, conversation_id)
        if row is None or row.last_inbound_at < utcnow() - WINDOW:
            return None
        return row.number


def forget(conversation_ids: list[str], engine: Engine | None = None) -> int:
    """Erasure requests: drop the numbers of these conversations at once."""
    if not conversation_ids:
        return 0
    with session_scope(_engine(engine)) as session:
        result = session.execute(
            sa.delete(WhatsAppReplyWindow).where(
                WhatsAppReplyWindow.conversation_id.in_(conversation_ids)
            )
        )
        return int(result.rowcount or 0)
