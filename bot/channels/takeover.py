"""Live staff takeover, Rasa-server side (loaded from credentials.yml).

The staff app drives a takeover through Rasa's own HTTP API (docs/staff-app.md):
``POST /conversations/<id>/tracker/events?output_channel=takeover&execute_side_effects=true``
appends the ``pause`` / ``resume`` events and the staff's messages (bot events whose
metadata names the staff account), and Rasa sends those messages to the output channel
this connector returns. Three things Rasa 3.6 doesn't do on its own live here:

1. **Routing a staff message to the patient's channel.** ``TakeoverOutput`` sends to
   the widget's socket.io room for ``web:`` conversations and through the Cloud API
   for ``wa:`` ones. Rasa's own WhatsApp output can't: a WhatsApp conversation id is a
   keyed hash, so the number comes from ``bot.channels.whatsapp_window``, which keeps
   it only for WhatsApp's 24-hour customer-service window.
2. **"Staff typing…"** (``POST /webhooks/takeover/typing``), a socket.io event that is
   not worth a tracker event.
3. **Urgent messages while paused.** Rasa stores a paused conversation's messages
   (the NLU pipeline still parses them, so the red-flag guard still sets
   ``report_urgent``) but predicts no action (``MessageProcessor._should_handle_message``).
   ``install_paused_urgent_guard`` wraps the prediction loop: a paused conversation
   whose latest message is ``report_urgent`` still gets ``utter_urgent_care`` at once.
   The rest of the turn stays with the staff member, who sees the message highlighted.

Both HTTP routes need the Rasa API token (``MESO_RASA_API_TOKEN``), which only the
staff app holds; without it takeover is off.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.conversation_ids import WEB_PREFIX, WHATSAPP_PREFIX
from bot.channels.pseudonym import pseudonym
from bot.contract import (
    RASA_API_TOKEN_ENV,
    STAFF_TYPING_EVENT,
    TAKEOVER_OUTPUT_CHANNEL,
    URGENT_CARE_RESPONSE,
    URGENT_INTENT,
)

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128


def _token_ok(request: Request) -> bool:
    """The request carries Rasa's API token, as Rasa's own API accepts it."""
    expected = os.environ.get(RASA_API_TOKEN_ENV, "")
    if not expected:
        return False
    scheme, _, bearer = (request.headers.get("authorization") or "").partition(" ")
    supplied = bearer.strip() if scheme.lower() == "bearer" else request.args.get("token", "")
    return bool(supplied) and hmac.compare_digest(supplied.encode(), expected.encode())


def _channel(app: Sanic | None, name: str) -> InputChannel | None:
    for channel in getattr(getattr(app, "ctx", None), "input_channels", None) or []:
        if channel.name() == name:
            return channel
    return None


class TakeoverOutput(OutputChannel):
    """Sends a staff message to whichever channel the conversation lives on."""

    def __init__(self, app: Sanic | None) -> None:
        self.app = app

    @classmethod
    def name(cls) -> str:
        return TAKEOVER_OUTPUT_CHANNEL

    def _target(self, recipient_id: str) -> OutputChannel | None:
        if recipient_id.startswith(WEB_PREFIX):
            socketio = _channel(self.app, "socketio")
            return socketio.get_output_channel() if socketio is not None else None
        if recipient_id.startswith(WHATSAPP_PREFIX):
            from bot.channels.whatsapp import WhatsAppOutput
            from bot.channels.whatsapp_window import reply_number

            whatsapp = _channel(self.app, "whatsapp")
            client = getattr(whatsapp, "client", None)
            number = reply_number(recipient_id)
            if client is None or number is None:
                # The staff app checks the window before sending; this is the backstop.
                logger.warning(
                    "Takeover: not sent to %s: outside WhatsApp's 24-hour window or the "
                    "channel is off.",
                    pseudonym(recipient_id),
                )
                return None
            return WhatsAppOutput(client, number=number)
        return None  # REST conversations have no push channel: the tracker keeps it

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        target = self._target(recipient_id)
        if target is not None:
            await target.send_response(recipient_id, message)


class TakeoverInput(InputChannel):
    """Routes for the staff app; installs the paused-urgent guard when Rasa loads it."""

    def __init__(self) -> None:
        self.app: Sanic | None = None

    @classmethod
    def name(cls) -> str:
        return TAKEOVER_OUTPUT_CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        install_paused_urgent_guard()
        return cls()

    def get_output_channel(self) -> OutputChannel | None:
        return TakeoverOutput(self.app)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        takeover = Blueprint("meso_takeover", __name__)

        @takeover.listener("before_server_start")
        async def remember_app(app: Sanic, _loop: Any) -> None:
            # get_output_channel() has no request; it finds the other channels here.
            self.app = app

        @takeover.route("/typing", methods=["POST"])
        async def typing(request: Request) -> HTTPResponse:
            if not _token_ok(request):
                return response.json({"error": "needs the Rasa API token"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender = body.get("sender_id")
            if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_CHARS:
                return response.json({"error": "'sender_id' must be a conversation id"}, 400)
            socketio = _channel(request.app, "socketio")
            sio = getattr(socketio, "sio", None)
            if not sender.startswith(WEB_PREFIX) or sio is None:
                return response.json({"sent": False})  # WhatsApp has no typing event
            await sio.emit(
                STAFF_TYPING_EVENT,
                {"typing": bool(body.get("typing", True))},
                room=sender,
                namespace=getattr(socketio, "namespace", None),
            )
            return response.json({"sent": True})

        return takeover


_installed = False


def install_paused_urgent_guard() -> None:
    """Answer ``report_urgent`` with ``utter_urgent_care`` even while staff have paused
    the bot (see the module docstring). Idempotent."""
    global _installed
    if _installed:
        return
    from rasa.core.actions.action import action_for_name_or_text
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor._run_prediction_loop

    async def run_prediction_loop(
        self: MessageProcessor, output_channel: Any, tracker: Any
    ) -> None:
        latest = tracker.latest_message
        if tracker.is_paused() and latest is not None and latest.intent_name == URGENT_INTENT:
            logger.warning(
                "Urgent message in %s while staff have the conversation: sending %s.",
                pseudonym(tracker.sender_id),
                URGENT_CARE_RESPONSE,
            )
            action = action_for_name_or_text(
                URGENT_CARE_RESPONSE, self.domain, self.action_endpoint
            )
            prediction = PolicyPrediction.for_action_name(
                self.domain, URGENT_CARE_RESPONSE, policy_name="PausedUrgentGuard"
            )
            await self._run_action(action, tracker, output_channel, self.nlg, prediction)
            return
        await original(self, output_channel, tracker)

    MessageProcessor._run_prediction_loop = run_prediction_loop  # type: ignore[method-assign]
    _installed = True
