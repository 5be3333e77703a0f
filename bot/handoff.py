"""Handoff requests: a patient asked for (or needs) clinic staff to get in touch.

One row per request in ``handoff_requests`` on the shared app database
(``bot.db.Base``). The action server creates and updates rows; the staff app lists
the queue and moves requests through open -> contacted -> closed.

Times are stored as naive UTC: SQLite keeps no time zone, and PostgreSQL columns
then behave the same way.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import CheckConstraint, Column, DateTime, Integer, String, case, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import Base, session_scope

STATUSES = ("open", "contacted", "closed")
URGENCIES = ("urgent", "normal")
CONTACT_CHANNELS = ("phone", "email", "whatsapp")

# No 0/O or 1/I/L: patients read the reference out over the phone.
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_REFERENCE_LENGTH = 6
_REFERENCE_PREFIX = "MA-"


def utcnow() -> datetime:
    """The current time as naive UTC (see the module docstring)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_reference() -> str:
    """A short, unambiguous code the patient can quote, e.g. ``MA-7K3Q9P``."""
    code = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(_REFERENCE_LENGTH))
    return _REFERENCE_PREFIX + code


def _in(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class HandoffRequest(Base):
    """A request for clinic staff to contact a patient (or to review an urgent report)."""

    __tablename__ = "handoff_requests"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="ck_handoff_status"),
        CheckConstraint(_in("urgency", URGENCIES), name="ck_handoff_urgency"),
        CheckConstraint(
            f"contact_channel IS NULL OR {_in('contact_channel', CONTACT_CHANNELS)}",
            name="ck_handoff_contact_channel",
        ),
    )

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True, index=True)
    sender_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(64), nullable=True)
    # personal_medical | logistics:<intent> | request_human | fallback | urgent
    reason = Column(String(64), nullable=False)
    urgency = Column(String(16), nullable=False, default="normal")
    contact_name = Column(String(120), nullable=True)
    contact_channel = Column(String(16), nullable=True)
    contact_value = Column(String(254), nullable=True)
    contact_time = Column(String(200), nullable=True)
    # Set only when the patient explicitly agreed to have contact details stored.
    consent_at = Column(DateTime, nullable=True)
    status = Column(String(16), nullable=False, default="open", index=True)
    status_changed_by = Column(String(120), nullable=True)
    status_changed_at = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)

    @property
    def has_contact(self) -> bool:
        """Whether staff can call or write back (details given with consent)."""
        return bool(self.consent_at and self.contact_value)

    def __repr__(self) -> str:
        return (
            f"HandoffRequest(reference={self.reference!r}, reason={self.reason!r}, "
            f"urgency={self.urgency!r}, status={self.status!r})"
        )


class HandoffNotFound(LookupError):
    """No handoff request with the given id or reference."""


class HandoffRepository:
    """Create, find and update handoff requests.

    Every method opens its own short transaction, so callers (the action server,
    the staff app) never hold a session across awaits. Returned objects are
    detached copies: read them, don't modify them.
    """

    def __init__(self, engine: Engine | None = None) -> None:
        if engine is None:
            from bot.db import app_engine

            engine = app_engine()
        self.engine = engine

    def create(
        self,
        *,
        sender_id: str,
        reason: str,
        channel: str | None = None,
        urgency: str = "normal",
        contact_name: str | None = None,
        contact_channel: str | None = None,
        contact_value: str | None = None,
        contact_time: str | None = None,
        consent_at: datetime | None = None,
    ) -> HandoffRequest:
        """Store a new open request and return it with its reference."""
        _check(urgency, URGENCIES, "urgency")
        if contact_channel is not None:
            _check(contact_channel, CONTACT_CHANNELS, "contact_channel")
        if contact_value and consent_at is None:
            # Contact details are personal data: never stored without consent.
            raise ValueError("contact details need consent_at (the patient's consent time)")
        for _ in range(5):
            request = HandoffRequest(
                reference=new_reference(),
                sender_id=sender_id,
                channel=channel,
                reason=reason,
                urgency=urgency,
                contact_name=contact_name,
                contact_channel=contact_channel,
                contact_value=contact_value,
                contact_time=contact_time,
                consent_at=consent_at,
                status="open",
                created_at=utcnow(),
            )
            try:
                with session_scope(self.engine) as session:
                    session.add(request)
                return request
            except IntegrityError:
                continue  # reference collision (about 1 in 900 million): draw again
        raise RuntimeError("could not draw a unique handoff reference")

    def get(self, request_id: int) -> HandoffRequest | None:
        with session_scope(self.engine) as session:
            return session.get(HandoffRequest, request_id)

    def get_by_reference(self, reference: str) -> HandoffRequest | None:
        with session_scope(self.engine) as session:
            return session.execute(
                select(HandoffRequest).where(HandoffRequest.reference == reference)
            ).scalar_one_or_none()

    def find_open_for_sender(self, sender_id: str) -> HandoffRequest | None:
        """The newest open request of this conversation, if any (used to avoid duplicates)."""
        with session_scope(self.engine) as session:
            return (
                session.execute(
                    select(HandoffRequest)
                    .where(HandoffRequest.sender_id == sender_id, HandoffRequest.status == "open")
                    .order_by(HandoffRequest.created_at.desc(), HandoffRequest.id.desc())
                )
                .scalars()
                .first()
            )

    def list_queue(self, statuses: Iterable[str] = ("open",)) -> list[HandoffRequest]:
        """Requests staff still have to handle: urgent first, then oldest first."""
        wanted = list(statuses)
        for status in wanted:
            _check(status, STATUSES, "status")
        urgent_first = case((HandoffRequest.urgency == "urgent", 0), else_=1)
        with session_scope(self.engine) as session:
            return list(
                session.execute(
                    select(HandoffRequest)
                    .where(HandoffRequest.status.in_(wanted))
                    .order_by(urgent_first, HandoffRequest.created_at, HandoffRequest.id)
                ).scalars()
            )

    def set_status(self, request_id: int, status: str, *, by: str) -> HandoffRequest:
        """Move a request to open/contacted/closed, recording who did it and when."""
        _check(status, STATUSES, "status")
        with session_scope(self.engine) as session:
            request = _load(session, request_id)
            request.status = status
            request.status_changed_by = by
            request.status_changed_at = utcnow()
            return request

    def add_contact(
        self,
        request_id: int,
        *,
        contact_name: str | None,
        contact_channel: str,
        contact_value: str,
        contact_time: str | None,
        consent_at: datetime,
    ) -> HandoffRequest:
        """Attach contact details (given with consent) to an existing request."""
        _check(contact_channel, CONTACT_CHANNELS, "contact_channel")
        with session_scope(self.engine) as session:
            request = _load(session, request_id)
            request.contact_name = contact_name
            request.contact_channel = contact_channel
            request.contact_value = contact_value
            request.contact_time = contact_time
            request.consent_at = consent_at
            return request

    def escalate(self, request_id: int) -> HandoffRequest:
        """Mark an existing request urgent (a later urgent report in the same conversation)."""
        with session_scope(self.engine) as session:
            request = _load(session, request_id)
            request.urgency = "urgent"
            return request


FORM_ANSWER_REMOVED = "[removed: no consent to keep contact details]"
# The details that identify a patient; the chosen channel and the consent answer don't.
PERSONAL_CONTACT_SLOTS = ("contact_name", "contact_value", "contact_time")
# Slots filled from what the patient typed: the channel question's raw answer can be a
# phone number or an address (the form infers the channel from it), so erasing nulls
# it too. Not in PERSONAL_CONTACT_SLOTS, whose values are also cut out of bot texts.
TYPED_CONTACT_SLOTS = (*PERSONAL_CONTACT_SLOTS, "contact_channel")
_MIN_QUOTED_CHARS = 3


def forget_form_answers(
    tracker_engine: Engine, sender_id: str, since: float, values: Iterable[str] = ()
) -> int:
    """Rewrite this conversation's stored events from `since` (the form's start) on:
    what the patient typed becomes a placeholder, personal contact slots become null,
    and bot messages quoting one of `values` lose the quote. Returns rows changed.

    Rasa's SQL tracker store appends new events and counts the stored ones, so
    rewriting a row's data in place keeps the tracker consistent.
    """
    from bot.staff.events import events, has_events_table

    if not has_events_table(tracker_engine):
        return 0
    quoted = sorted({v for v in values if v and len(v) >= _MIN_QUOTED_CHARS}, key=len, reverse=True)
    changed = 0
    with tracker_engine.begin() as connection:
        rows = connection.execute(
            select(events.c.id, events.c.type_name, events.c.data).where(
                events.c.sender_id == sender_id,
                events.c.timestamp >= since,
                events.c.type_name.in_(("user", "slot", "bot")),
            )
        ).all()
        for row in rows:
            data = _forget_in_event(row.type_name, row.data, quoted)
            if data is not None:
                connection.execute(events.update().where(events.c.id == row.id).values(data=data))
                changed += 1
    return changed


def _forget_in_event(kind: str, raw: str | None, quoted: list[str]) -> str | None:
    """The event's new JSON, or None when it holds nothing to forget."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if kind == "user":
        data["text"] = FORM_ANSWER_REMOVED
        parse_data = data.get("parse_data")
        if isinstance(parse_data, dict):
            parse_data["text"] = FORM_ANSWER_REMOVED
            parse_data["entities"] = []
        data["entities"] = []
    elif kind == "slot":
        if data.get("name") not in TYPED_CONTACT_SLOTS or data.get("value") is None:
            return None
        data["value"] = None
    else:
        text = data.get("text")
        if not isinstance(text, str) or not any(value in text for value in quoted):
            return None
        for value in quoted:
            text = text.replace(value, "[removed]")
        data["text"] = text
    return json.dumps(data)


def describe_db_error(error: Exception) -> str:
    """A database error for logs: its classes and the statement's verb and table, never
    its message (which quotes bound parameters, i.e. patients' contact details)."""
    original = getattr(error, "orig", None)
    kind = type(error).__name__ + (f" ({type(original).__name__})" if original else "")
    statement = " ".join(str(getattr(error, "statement", "") or "").split()[:3])
    return f"{kind} on {statement}" if statement else kind


def _load(session: Session, request_id: int) -> HandoffRequest:
    request = session.get(HandoffRequest, request_id)
    if request is None:
        raise HandoffNotFound(f"no handoff request with id {request_id}")
    return request


def _check(value: str, allowed: tuple[str, ...], field: str) -> None:
    if value not in allowed:
        raise ValueError(f"{field} must be one of {', '.join(allowed)}; got {value!r}")
