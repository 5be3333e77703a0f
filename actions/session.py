"""Session start: greet the patient with the disclaimer before they type anything.

The widget opens a conversation with the ``/session_start`` payload, so this action
runs as soon as the chat window opens and greets. A session that starts implicitly,
because a patient's first REST or WhatsApp message arrives, is NOT greeted here: the
message isn't known yet, and an urgent report must get the urgent-care advice as the
very first reply. Those conversations get the disclaimer with their first answer
(see ``actions.answering``). It follows the pattern in the Rasa docs
("Customizing the session start action"): SessionStarted, the carried-over slots,
then action_listen last. If the action server is down, the lead's resilience layer
(bot/rasa_ext/resilience.py) runs Rasa's own session start plus the same greeting.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.contract import DISCLAIMER_SLOT, GREETING_RESPONSE, session_start_requested

# A form never survives a session break, so the slot it asked for must not either.
NOT_CARRIED_OVER = frozenset({"requested_slot", "session_started_metadata", DISCLAIMER_SLOT})


DEFAULT_EXPIRATION_MINUTES = 60


def _session_config(domain: DomainDict) -> dict[str, Any]:
    return domain.get("session_config") or {}


def carry_over_enabled(domain: DomainDict) -> bool:
    return bool(_session_config(domain).get("carry_over_slots_to_new_session", True))


class ActionSessionStart(Action):
    """Start a session, keep the previous session's slots, and show the disclaimer."""

    def name(self) -> str:
        return "action_session_start"

    @staticmethod
    def carried_over_slots(tracker: Tracker) -> list[EventType]:
        """Slots of the previous session that the new one keeps (topic, handoff, ...)."""
        return [
            SlotSet(key, value)
            for key, value in tracker.slots.items()
            if value is not None and key not in NOT_CARRIED_OVER
        ]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        if carry_over_enabled(domain):
            # Slots must come after SessionStarted, which resets the tracker.
            events.extend(self.carried_over_slots(tracker))
        shown = bool(tracker.get_slot(DISCLAIMER_SLOT))
        if session_start_requested(reversed(tracker.events)) and not shown:
            dispatcher.utter_message(response=GREETING_RESPONSE)
            shown = True
        if shown:  # a widget reconnect starts a new session event, but not a new greeting
            events.append(SlotSet(DISCLAIMER_SLOT, True))
        events.append(ActionExecuted("action_listen"))
        return events
