"""Validation of the handoff form (name, channel, phone or email, best time, consent).

Slots are filled with ``from_text`` mappings (see domain.yml), so each validator
receives the patient's whole message and picks the value out of it. Patients answer
the way they talk, not the way the form asks:

- a phone number or email address is understood at ANY step: the channel is inferred
  and the value kept, and the form then asks only for what is still missing;
- words work like the buttons ("call me", "email is fine", "whatsapp pls");
- a question in the middle of the form ("does it hurt though?") is not taken as an
  answer: the validation rejects the form's turn, a rule in ``data/rules/forms.yml``
  answers it, and the form asks its question again.

A validator never sends a message itself. When an answer doesn't fit, it sets the
``contact_reask`` slot and the form's own question (``utter_ask_<slot>``) picks the
variation that says what was wrong, so each turn has exactly ONE prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import contact
from bot.contract import ANSWER_INTENT_PREFIX, PERSONAL_MEDICAL_INTENT

Validated = dict[str, Any]

REASK_SLOT = "contact_reask"
# contact_reask value when a number or address was kept but the asked slot is still empty.
NOTED = "noted"


def is_question_intent(intent: str | None) -> bool:
    """Whether a message with this intent asks the assistant something: every answer
    and logistics intent (named ask_<...> by bot.contract), or the patient's own
    situation."""
    return bool(intent) and (
        intent.startswith(ANSWER_INTENT_PREFIX) or intent == PERSONAL_MEDICAL_INTENT
    )


# First words of a question or a request for information ("tell me about...").
_QUESTION_WORDS = frozenset({
    "what", "whats", "how", "hows", "why", "when", "where", "who", "which", "does", "do",
    "did", "is", "isnt", "are", "can", "could", "will", "would", "should", "shall", "may",
    "might", "am", "any", "tell", "explain", "and",
})  # fmt: skip


def reads_as_question(text: str) -> bool:
    """Whether a message is worded as a question ("does it hurt though?")."""
    words = text.lower().replace("'", "").split()
    return "?" in text or (bool(words) and words[0].strip(",.!") in _QUESTION_WORDS)


def fits(slot: str, value: Any) -> bool:
    """Whether a message would be accepted as the answer to ``slot``."""
    text = str(value or "")
    if slot == "contact_name":
        return contact.name_in(text) is not None
    if slot == "contact_time":
        return contact.time_in(text) is not None
    if slot == "contact_consent":
        return isinstance(value, bool) or contact.consent_in(text) is not None
    # The channel or the number: channel words, numbers and addresses were checked.
    return slot == "contact_value" and contact.named_channel(text) is not None


# User messages before the form that may hold a number or address: the trigger, an
# accepted offer, and details given unprompted ("call me on +34 612 345 678").
PRE_FORM_TURNS = 3


def detail_before(
    events: Sequence[dict[str, Any]],
) -> tuple[contact.ContactDetail, float | None] | None:
    """The phone number or email address in the last few user messages of ``events``
    (the conversation up to the form's start), newest first, with that message's
    timestamp. An earlier form's start or end stops the search: its answers belong to
    that request."""
    seen = 0
    for event in reversed(events):
        if event.get("event") == "active_loop":
            break
        if event.get("event") != "user":
            continue
        if detail := contact.detail_in(event.get("text") or ""):
            stamp = event.get("timestamp")
            return detail, float(stamp) if stamp is not None else None
        seen += 1
        if seen >= PRE_FORM_TURNS:
            break
    return None


def _detail_slots(detail: contact.ContactDetail) -> Validated:
    return {"contact_channel": detail.channel, "contact_value": detail.value}


def _reask(slot: str) -> Validated:
    """The slot stays empty and its question is asked again, saying what was wrong."""
    return {slot: None, REASK_SLOT: slot}


def _answer_or_detail(
    slot: str, text: str, tracker: Tracker, extract: Callable[[str], Any]
) -> Validated:
    """The answer to ``slot`` read by ``extract``; a phone number or address given
    instead is kept and the slot asked again ("noted"); anything else is re-asked."""
    if detail := contact.detail_in(text, tracker.get_slot("contact_channel")):
        return {slot: None, **_detail_slots(detail), REASK_SLOT: NOTED}
    value = extract(text)
    if value is None or value == "":  # consent's False is an answer
        return _reask(slot)
    return {slot: value, REASK_SLOT: None}


class ValidateHandoffForm(FormValidationAction):
    """Checks each contact detail as the patient gives it."""

    def name(self) -> str:
        return "validate_handoff_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.active_loop_name != self.form_name():
            # The form is starting: no re-ask is pending from an earlier, abandoned form.
            events = await super().run(dispatcher, tracker, domain)
            carried = detail_before(tracker.events)
            if carried is None:
                return [*events, SlotSet(REASK_SLOT, None)]
            # "Call me on +34 ..." said before the form: keep it, and ask only the rest.
            slots = {**_detail_slots(carried[0]), REASK_SLOT: NOTED}
            return [*events, *(SlotSet(slot, value) for slot, value in slots.items())]
        if self.interrupted_by_question(tracker):
            # Leave the slot empty and hand the turn back: RulePolicy then answers the
            # question with the in-form rules, and the form resumes where it was.
            requested = tracker.get_slot("requested_slot")
            return [
                SlotSet(requested, None),
                SlotSet(REASK_SLOT, None),
                ActionExecutionRejected(self.form_name()),
            ]
        return await super().run(dispatcher, tracker, domain)

    @staticmethod
    def interrupted_by_question(tracker: Tracker) -> bool:
        """Whether the patient asked a question instead of answering the form.

        Only a message the form took as an answer counts (``slots_to_validate``): after
        the question was answered, the form runs again on the same message and must
        simply ask again. A phone number, an email address or (at the channel
        question) a channel word is an answer whatever NLU thought of the sentence.
        Otherwise it takes a question intent AND a message that reads as a question
        or doesn't fit the slot: NLU calls the name "Dr Patel" ask_practitioner and
        the time "every other week" ask_course_schedule, and answering those instead
        would ask for the same detail again and again.
        """
        requested = tracker.get_slot("requested_slot")
        candidates = tracker.slots_to_validate()
        if not requested or requested not in candidates:
            return False
        message = tracker.latest_message or {}
        if not is_question_intent((message.get("intent") or {}).get("name")):
            return False
        text = message.get("text") or ""
        if contact.detail_in(text):
            return False
        if requested == "contact_channel" and contact.channel_in(text):
            return False
        return reads_as_question(text) or not fits(requested, candidates[requested])

    def validate_contact_name(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Validated:
        # A number instead of a name: keep it, then ask for the name alone.
        return _answer_or_detail("contact_name", str(slot_value or ""), tracker, contact.name_in)

    def validate_contact_channel(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Validated:
        text = str(slot_value or "")
        # "+34 612 345 678" or "email me at anna@example.com" answers two questions.
        if detail := contact.detail_in(text):
            return {**_detail_slots(detail), REASK_SLOT: None}
        if channel := contact.channel_in(text):
            return {"contact_channel": channel, REASK_SLOT: None}
        return _reask("contact_channel")

    def validate_contact_value(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Validated:
        text = str(slot_value or "")
        channel = tracker.get_slot("contact_channel") or "phone"
        # An email for "phone" or a number for "email": reach them the way they wrote.
        if detail := contact.detail_in(text, channel):
            return {**_detail_slots(detail), REASK_SLOT: None}
        named = contact.named_channel(text)
        if named and named != channel:
            # "actually email is better": switch, and ask for that address instead.
            return {"contact_channel": named, "contact_value": None, REASK_SLOT: None}
        return _reask("contact_value")

    def validate_contact_time(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Validated:
        return _answer_or_detail("contact_time", str(slot_value or ""), tracker, contact.time_in)

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
            return {"contact_consent": slot_value, REASK_SLOT: None}
        return _answer_or_detail(
            "contact_consent", str(slot_value or ""), tracker, contact.consent_in
        )
