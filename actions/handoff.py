"""Handing a conversation over to clinic staff.

- ``action_notify_clinic_urgent``: an urgent complication, after the urgent-care advice
  (a domain response, sent first by a rule). Creates an URGENT request at once, with no
  contact details, and offers to add them through ``handoff_form``.
- ``action_submit_handoff``: runs when ``handoff_form`` ends. With consent it stores ONE
  request (or adds the details to the urgent one); without consent it stores nothing.
- ``action_clear_contact_details``: forgets half-typed details when the patient stops.

Asking again in the same conversation never creates a second open request: the
``handoff_reference`` slot and the database are both checked.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from actions.forms import detail_before
from bot.channels.pseudonym import pseudonym
from bot.clinic_hours import OpeningHours
from bot.config import Settings, get_settings
from bot.contract import HANDOFF_REASONS, REQUEST_HUMAN_INTENT
from bot.handoff import (
    PERSONAL_CONTACT_SLOTS,
    HandoffRepository,
    HandoffRequest,
    describe_db_error,
    forget_form_answers,
    utcnow,
)

logger = logging.getLogger(__name__)

FORM_NAME = "handoff_form"
CONTACT_SLOTS = (
    "contact_name",
    "contact_channel",
    "contact_value",
    "contact_time",
    "contact_consent",
)

# The intents that lead here and the reasons recorded for staff: bot.contract.
TRIGGER_REASONS = HANDOFF_REASONS
DEFAULT_REASON = HANDOFF_REASONS[REQUEST_HUMAN_INTENT]
TRIGGER_WINDOW = 3  # user messages before the form: e.g. report_urgent, affirm, affirm


def handoff_reason(tracker: Tracker) -> str:
    """Why the patient is being handed over, read from the conversation.

    Looks at the user messages before the latest activation of the handoff form (the
    answers given inside the form say nothing about the reason) and returns the
    reason of the newest trigger intent, e.g. ``logistics:ask_price``.
    """
    events = tracker.events
    start = len(events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "active_loop" and event.get("name") == FORM_NAME:
            start = index
            break
    user_turns = [event for event in events[:start] if event.get("event") == "user"]
    # The trigger is at most a few turns back (trigger, offer accepted, details
    # offered); an older one belongs to an earlier, unrelated part of the chat.
    for event in reversed(user_turns[-TRIGGER_WINDOW:]):
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent in TRIGGER_REASONS:
            return TRIGGER_REASONS[intent]
    return DEFAULT_REASON


def consent_time(tracker: Tracker) -> datetime:
    """When the patient said yes to storing their details (naive UTC)."""
    for event in reversed(tracker.events):
        if (
            event.get("event") == "slot"
            and event.get("name") == "contact_consent"
            and event.get("value") is True
            and event.get("timestamp")
        ):
            moment = datetime.fromtimestamp(float(event["timestamp"]), tz=timezone.utc)
            return moment.replace(tzinfo=None)
    return utcnow()


def form_start(tracker: Tracker) -> float | None:
    """When the latest handoff form began, or the message before it that gave the
    number or address the form took over (actions.forms.detail_before)."""
    events = tracker.events
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "active_loop" and event.get("name") == FORM_NAME:
            stamp = event.get("timestamp")
            if stamp is None:
                return None
            carried = detail_before(events[:index])
            if carried is not None and carried[1] is not None:
                return min(float(stamp), carried[1])
            return float(stamp)
    return None


class FormAnswerEraser:
    """Forgets what a patient typed into the handoff form when they don't consent or
    stop: the bot promises that nothing is kept, so the tracker store mustn't keep it
    either. Failures are logged (no details) and never stop the reply."""

    def __init__(self, tracker_engine: Engine | None = None) -> None:
        self._engine = tracker_engine

    @property
    def engine(self) -> Engine | None:
        """The tracker store, or None when it is a SQLite file that doesn't exist (so
        nothing was stored, and opening it would create an empty database)."""
        if self._engine is None:
            from sqlalchemy.engine import make_url

            from bot.config import get_settings
            from bot.staff.events import tracker_engine

            url = get_settings().tracker_db_url
            database = make_url(url).database
            if url.startswith("sqlite") and database and not Path(database).exists():
                return None
            self._engine = tracker_engine(url)
        return self._engine

    def forget(self, tracker: Tracker) -> None:
        since = form_start(tracker)
        engine = self.engine if since is not None else None
        if since is None or engine is None:
            return
        values = [str(tracker.get_slot(slot) or "") for slot in PERSONAL_CONTACT_SLOTS]
        try:
            forget_form_answers(engine, tracker.sender_id, since, values)
        except SQLAlchemyError as error:
            logger.error(
                "Could not erase declined contact details of conversation %s: %s",
                pseudonym(tracker.sender_id or ""),
                describe_db_error(error),
            )


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class StaffAvailability:
    """What the patient is told about when staff can answer, after a request is stored.

    - no ``opening_hours`` in clinic.yml: today's text, nothing about open or closed;
    - open now and live takeover on: staff may also reply in this chat;
    - closed: no live chat is mentioned, and the text says when the team is next in
      (the request is stored all the same, so staff call back).
    """

    opening_hours: OpeningHours | None
    # Live takeover is on when the Rasa API token is set (the action server only
    # checks that it is; the staff app uses it).
    live_chat: bool
    clock: Callable[[], datetime] = field(default=_now)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> StaffAvailability:
        settings = settings or get_settings()
        return cls(settings.clinic.opening_hours, bool(settings.rasa_api_token))

    def submitted(self) -> tuple[str, dict[str, str]]:
        """The response for a newly stored request and the values it needs."""
        hours = self.opening_hours
        if hours is None:
            return "utter_handoff_submitted", {}
        now = self.clock()
        if not hours.is_open(now):
            return "utter_handoff_submitted_closed", {"next_opening": hours.describe_opening(now)}
        return ("utter_handoff_submitted_live" if self.live_chat else "utter_handoff_submitted"), {}


class HandoffAction(Action, ABC):
    """Base for actions that read or write handoff requests.

    The repository is created lazily from the app settings; tests pass one bound to
    a temporary database. Abstract, so the action server doesn't register it.
    """

    def __init__(
        self,
        repository: HandoffRepository | None = None,
        eraser: FormAnswerEraser | None = None,
    ) -> None:
        self._repository = repository
        self.eraser = eraser or FormAnswerEraser()

    @abstractmethod
    def name(self) -> str: ...

    @property
    def repository(self) -> HandoffRepository:
        if self._repository is None:
            self._repository = HandoffRepository()
        return self._repository

    def open_request(self, tracker: Tracker) -> HandoffRequest | None:
        """This conversation's open request: by the reference we gave, else by sender."""
        reference = tracker.get_slot("handoff_reference")
        if reference:
            request = self.repository.get_by_reference(reference)
            if request is not None and request.status == "open":
                return request
        return self.repository.find_open_for_sender(tracker.sender_id)


def _log_failure(what: str, tracker: Tracker, error: SQLAlchemyError) -> None:
    """Log a failed write without the sender id (a phone number on WhatsApp) or the
    bound parameters (contact details), which SQLAlchemy's message would include."""
    logger.error(
        "Could not store %s for conversation %s: %s. The patient was given the clinic's "
        "phone instead.",
        what,
        pseudonym(tracker.sender_id or ""),
        describe_db_error(error),
    )


def _handoff_slots(request: HandoffRequest) -> list[EventType]:
    return [
        SlotSet("handoff_reference", request.reference),
        SlotSet("handoff_reason", request.reason),
        SlotSet("handoff_urgency", request.urgency),
    ]


class ActionNotifyClinicUrgent(HandoffAction):
    """Alert the clinic about an urgent complication, at once and without a form.

    Stores only the sender id, channel and reason: contact details need consent,
    which the patient may then give through the handoff form.
    """

    def name(self) -> str:
        return "action_notify_clinic_urgent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            request = self.open_request(tracker)
            if request is None:
                request = self.repository.create(
                    sender_id=tracker.sender_id,
                    channel=tracker.get_latest_input_channel(),
                    reason="urgent",
                    urgency="urgent",
                )
            elif request.urgency != "urgent":
                # Same conversation, already waiting for a call: move it up the queue.
                request = self.repository.escalate(request.id)
        except SQLAlchemyError as error:
            _log_failure("the urgent handoff", tracker, error)
            dispatcher.utter_message(response="utter_urgent_alert_failed")
            return []
        dispatcher.utter_message(
            response="utter_urgent_clinic_notified", reference=request.reference
        )
        return _handoff_slots(request)


class ActionSubmitHandoff(HandoffAction):
    """Store the handoff request when the form is complete, if the patient consented."""

    def __init__(
        self,
        repository: HandoffRepository | None = None,
        eraser: FormAnswerEraser | None = None,
        availability: StaffAvailability | None = None,
    ) -> None:
        super().__init__(repository, eraser)
        self._availability = availability

    @property
    def availability(self) -> StaffAvailability:
        if self._availability is None:
            self._availability = StaffAvailability.from_settings()
        return self._availability

    def name(self) -> str:
        return "action_submit_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("contact_consent") is not True:
            # Nothing is stored, and the details typed into the form are forgotten,
            # including in the tracker store's earlier events.
            self.eraser.forget(tracker)
            dispatcher.utter_message(response="utter_no_consent")
            return [SlotSet(slot, None) for slot in CONTACT_SLOTS]
        try:
            return self._store(dispatcher, tracker)
        except SQLAlchemyError as error:
            _log_failure("the handoff", tracker, error)
            dispatcher.utter_message(response="utter_action_unavailable")
            return []

    def _store(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        contact_details: dict[str, Any] = {
            "contact_name": tracker.get_slot("contact_name"),
            "contact_channel": tracker.get_slot("contact_channel"),
            "contact_value": tracker.get_slot("contact_value"),
            "contact_time": tracker.get_slot("contact_time"),
            "consent_at": consent_time(tracker),
        }
        existing = self.open_request(tracker)
        if existing is not None and not existing.has_contact:
            # The urgent alert made earlier in this conversation gets the details.
            request = self.repository.add_contact(existing.id, **contact_details)
            dispatcher.utter_message(
                response="utter_handoff_contact_added", reference=request.reference
            )
            return _handoff_slots(request)
        if existing is not None:
            dispatcher.utter_message(
                response="utter_handoff_already_open", reference=existing.reference
            )
            return _handoff_slots(existing)
        reason = handoff_reason(tracker)
        request = self.repository.create(
            sender_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel(),
            reason=reason,
            urgency="urgent" if reason == "urgent" else "normal",
            **contact_details,
        )
        response, values = self.availability.submitted()
        dispatcher.utter_message(response=response, reference=request.reference, **values)
        return _handoff_slots(request)


class ActionClearContactDetails(Action):
    """Forget contact details typed into a form the patient then stopped."""

    def __init__(self, eraser: FormAnswerEraser | None = None) -> None:
        self.eraser = eraser or FormAnswerEraser()

    def name(self) -> str:
        return "action_clear_contact_details"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        self.eraser.forget(tracker)
        return [SlotSet(slot, None) for slot in CONTACT_SLOTS]
