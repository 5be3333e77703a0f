"""Validation of the handoff form (name, channel, phone or email, best time, consent).

Slots are filled with ``from_text`` mappings (see domain.yml), so each validator
receives the patient's whole message and picks the value out of it. A value that
doesn't fit is cleared and the patient is asked again with an example; the
``utter_invalid_*`` responses live in the domain so clinics can reword them.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import contact

Validated = dict[str, Any]


class ValidateHandoffForm(FormValidationAction):
    """Checks each contact detail as the patient gives it."""

    def name(self) -> str:
        return "validate_handoff_form"

    def validate_contact_name(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Validated:
        name = contact.name_in(str(slot_value or ""))
        if name is None:
            dispatcher.utter_message(response="utter_invalid_contact_name")
        return {"contact_name": name}

    def validate_contact_channel(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Validated:
        text = str(slot_value or "")
        # "email me at anna@example.com" answers two questions at once.
        if email := contact.email_in(text):
            return {"contact_channel": "email", "contact_value": email}
        channel = contact.channel_in(text)
        if channel is None:
            dispatcher.utter_message(response="utter_invalid_contact_channel")
            return {"contact_channel": None}
        phone = contact.phone_in(text)
        if phone and channel in ("phone", "whatsapp"):
            return {"contact_channel": channel, "contact_value": phone}
        return {"contact_channel": channel}

    def validate_contact_value(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Validated:
        text = str(slot_value or "")
        channel = tracker.get_slot("contact_channel") or "phone"
        email = contact.email_in(text)
        phone = contact.phone_in(text)
        if channel == "email":
            if email:
                return {"contact_value": email}
            if phone:
                # The patient gave a number after all: call them rather than ask again.
                return {"contact_channel": "phone", "contact_value": phone}
            dispatcher.utter_message(response="utter_invalid_email")
            return {"contact_value": None}
        if phone:
            return {"contact_value": phone}
        if email:
            return {"contact_channel": "email", "contact_value": email}
        dispatcher.utter_message(response="utter_invalid_phone")
        return {"contact_value": None}

    def validate_contact_time(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Validated:
        time = contact.time_in(str(slot_value or ""))
        if time is None:
            dispatcher.utter_message(response="utter_invalid_contact_time")
        return {"contact_time": time}

    def validate_contact_consent(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Validated:
        # Buttons send /affirm or /deny (from_intent gives True/False); typed answers
        # arrive as text and must be an unmistakable yes or no.
        if isinstance(slot_value, bool):
            return {"contact_consent": slot_value}
        consent = contact.consent_in(str(slot_value or ""))
        if consent is None:
            dispatcher.utter_message(response="utter_invalid_contact_consent")
        return {"contact_consent": consent}
