"""The table behind live takeover: who holds which conversation right now.

One row per conversation held, keyed by `sender_id`: the primary key is the lock. A
second staff member's INSERT fails on it, in whichever staff-app process they are, so
two people never talk to a patient at once (bot.staff.takeover). The pause itself lives
in Rasa's tracker (ConversationPaused), so every Rasa replica sees it.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, String

from bot.db import Base
from bot.staff.models import utcnow


class StaffTakeover(Base):
    __tablename__ = "staff_takeovers"

    sender_id = Column(String(255), primary_key=True)
    held_by = Column(String(64), nullable=False)
    # What the patient is told joined ("A nurse from the clinic has joined the chat").
    title = Column(String(60), nullable=False)
    channel = Column(String(32), nullable=False)
    started_at = Column(DateTime, nullable=False, default=utcnow)
    # The idle timeout counts from here: set at takeover and on every staff message.
    last_staff_at = Column(DateTime, nullable=False, default=utcnow, index=True)
