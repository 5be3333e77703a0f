"""WhatsApp Cloud API channel for Rasa: ``bot.channels.whatsapp.WhatsAppInput``.

Mounted by Rasa at ``/webhooks/whatsapp/`` (health) and ``/webhooks/whatsapp/webhook``
(Meta's verification handshake on GET, signed message notifications on POST). Settings
come from WHATSAPP_* environment variables; see docs/whatsapp.md.

Security decisions, in short:
- Fail closed. Without every required setting the webhook answers 503 to everything
  and says which variable is missing; it never processes a message.
- Every POST must carry a valid X-Hub-Signature-256 over the raw body.
- Logs never carry a patient's text or phone number; senders appear as a keyed hash.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.conversation_ids import (
    WHATSAPP_PREFIX,
    conversation_key,
    whatsapp_conversation_id,
)
from bot.channels.guarded import RATE_LIMITED_REPLY, InputGuard, InvalidMessage
from bot.channels.pseudonym import pseudonym
from bot.channels.ratelimit import RateLimiter
from bot.channels.whatsapp_api import GraphAPIClient
from bot.channels.whatsapp_config import WhatsAppConfig
from bot.channels.whatsapp_messages import (
    INTERACTIVE_BODY_LIMIT,
    format_for_whatsapp,
    interactive_payload,
    link_lines,
    split_text,
    text_payload,
)
from bot.channels.whatsapp_webhook import (
    SIGNATURE_HEADER,
    UNSUPPORTED,
    InboundMessage,
    SeenMessageIds,
    parse_webhook,
    seen_message_ids,
    signature_is_valid,
    tokens_match,
)
from bot.channels.whatsapp_window import record_inbound
from bot.config import RateLimit, get_settings

logger = logging.getLogger(__name__)

CHANNEL_NAME = "whatsapp"
TEXT_ONLY_REPLY = "Sorry, I can only read text messages. Please type your question."
# Interactive messages need a body; used when the bot's text is too long to be one.
CHOICE_PROMPT = "Choose an option:"
SHUTDOWN_GRACE_SECONDS = 10.0


class WhatsAppOutput(OutputChannel):
    """Sends Rasa's bot messages to one patient through the Graph API.

    Rasa addresses replies to the conversation id, a keyed hash (``wa:...``), so the
    output made for an incoming message is bound to the number it came from. An
    unbound output (Rasa's ``get_output_channel``) can't turn a hash back into a
    number and drops such messages with a warning.
    """

    def __init__(self, client: GraphAPIClient, number: str | None = None) -> None:
        self.client = client
        self.number = number

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def _to(self, recipient_id: str) -> str | None:
        if self.number is not None:
            return self.number
        if recipient_id.startswith(WHATSAPP_PREFIX):
            logger.warning(
                "WhatsApp: can't send to conversation %s outside a reply to the patient; "
                "its number isn't stored anywhere.",
                recipient_id[:12],
            )
            return None
        return recipient_id

    async def _send_text(self, recipient_id: str, text: str) -> None:
        to = self._to(recipient_id)
        if to is None:
            return
        for chunk in split_text(text):
            await self.client.send(text_payload(to, chunk), kind="text message")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_text(recipient_id, format_for_whatsapp(text or ""))

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        to = self._to(recipient_id)
        if to is None:
            return
        body = format_for_whatsapp(text or "")
        links = link_lines(buttons)
        if links:
            body = "\n".join([body, *links]).strip()
        if len(body) <= INTERACTIVE_BODY_LIMIT:
            interactive = interactive_payload(to, body or CHOICE_PROMPT, buttons)
            if interactive is None:
                await self._send_text(to, body)
            else:
                await self.client.send(interactive, kind="interactive message")
            return
        # Too long for an interactive body: the text goes first, the choices after it.
        await self._send_text(to, body)
        interactive = interactive_payload(to, CHOICE_PROMPT, buttons)
        if interactive is not None:
            await self.client.send(interactive, kind="interactive message")

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        to = self._to(recipient_id)
        if to is None:
            return
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "image",
            "image": {"link": image},
        }
        await self.client.send(payload, kind="image message")

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        # The answer_meta message repeats what the answer text's Sources line already
        # says; other custom payloads are for web widgets. Neither reads well as text.
        data = json_message.get("data") if isinstance(json_message, dict) else None
        kind = data.get("kind") if isinstance(data, dict) else None
        logger.debug("WhatsApp: not forwarding a custom message (kind=%s).", kind)


class WhatsAppInput(InputChannel):
    """Receives WhatsApp Cloud API webhooks and hands patient messages to Rasa."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(WhatsAppConfig.load(credentials))

    def __init__(
        self,
        config: WhatsAppConfig | None = None,
        *,
        client: GraphAPIClient | None = None,
        seen_ids: SeenMessageIds | None = None,
        conversation_key: bytes | None = None,
    ) -> None:
        self.config = config or WhatsAppConfig.load()
        self._conversation_key = conversation_key
        self.disabled_reason = self.config.disabled_reason()
        self.client: GraphAPIClient | None = client
        if self.client is None and self.disabled_reason is None:
            self.client = GraphAPIClient(self.config.messages_url(), self.config.access_token or "")
        self.seen_ids = seen_ids if seen_ids is not None else seen_message_ids()
        self._tasks: set[asyncio.Task] = set()
        # The same text cleaning and per-sender limit as REST and socket.io. (Every
        # request comes from Meta's servers, so a per-address limit would mean nothing.)
        self.guard = InputGuard()
        # "Please wait" at most once per limit window, not once per refused message.
        self._slow_down_notices = RateLimiter(
            RateLimit(1, self.guard.sender_limiter.limit.window_seconds)
        )

    # ------------------------------------------------------------------ helpers

    def get_output_channel(self) -> OutputChannel | None:
        if self.client is None or self.disabled_reason is not None:
            return None
        return WhatsAppOutput(self.client)

    def conversation_id(self, number: str) -> str:
        """The patient's conversation id: a keyed hash, never the number itself."""
        if self._conversation_key is None:
            self._conversation_key = conversation_key()
        return whatsapp_conversation_id(number, self._conversation_key)

    def sender_ref(self, sender: str) -> str:
        """A non-reversible reference to a patient for logs (bot.channels.pseudonym)."""
        return pseudonym(sender, prefix="wa:")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        # Keep a reference: the event loop holds tasks only weakly.
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Wait for messages still being answered (tests and shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def _handle_sender(
        self,
        messages: list[InboundMessage],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        """Answer one patient's messages in the order they arrived."""
        if self.client is None:  # pragma: no cover - the blueprint never gets here disabled
            return
        output = WhatsAppOutput(self.client, number=messages[0].sender)
        conversation_id = self.conversation_id(messages[0].sender)
        await self._open_reply_window(conversation_id, messages[0].sender)
        for message in messages:
            try:
                if message.kind == UNSUPPORTED:
                    await output.send_text_message(message.sender, TEXT_ONLY_REPLY)
                    continue
                try:
                    text = self.guard.clean_text(message.text)
                except InvalidMessage:
                    continue  # nothing left once control characters are gone
                if self.guard.retry_after(conversation_id):
                    logger.warning(
                        "WhatsApp: %s is over the per-sender rate limit "
                        "(MESO_RATE_LIMIT_SENDER); message not answered.",
                        self.sender_ref(message.sender),
                    )
                    if not self._slow_down_notices.retry_after(conversation_id):
                        await output.send_text_message(message.sender, RATE_LIMITED_REPLY)
                    continue
                await on_new_message(
                    UserMessage(
                        text,
                        output,
                        conversation_id,
                        input_channel=CHANNEL_NAME,
                        message_id=message.message_id,
                        metadata=message.metadata(),
                    )
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The exception text may quote the patient; only its type goes to ERROR.
                logger.error(
                    "WhatsApp: the bot failed to answer a %s message from %s (%s). "
                    "Enable DEBUG logging for the traceback.",
                    message.type,
                    self.sender_ref(message.sender),
                    type(exc).__name__,
                )
                logger.debug("WhatsApp: traceback of the failure above", exc_info=True)

    async def _open_reply_window(self, conversation_id: str, number: str) -> None:
        """Keep the number for staff replies during WhatsApp's 24-hour window
        (bot.channels.whatsapp_window); only when live takeover is on (Rasa's API token
        is set), since nothing else could use it."""
        if not get_settings().rasa_api_token:
            return
        try:
            await asyncio.to_thread(record_inbound, conversation_id, number)
        except Exception as exc:  # the patient still gets the bot's answer
            logger.error(
                "WhatsApp: could not record the reply window of %s (%s); staff can't "
                "reply to it until the patient writes again.",
                self.sender_ref(number),
                type(exc).__name__,
            )

    def accept(
        self,
        payload: Any,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> int:
        """Schedule every new message of a webhook payload; returns how many."""
        by_sender: dict[str, list[InboundMessage]] = defaultdict(list)
        for message in parse_webhook(payload, self.config.phone_number_id):
            if not self.seen_ids.first_time(message.message_id):
                logger.info(
                    "WhatsApp: ignoring a redelivered message from %s.",
                    self.sender_ref(message.sender),
                )
                continue
            by_sender[message.sender].append(message)
        for messages in by_sender.values():
            self._spawn(self._handle_sender(messages, on_new_message))
        return sum(len(messages) for messages in by_sender.values())

    # ---------------------------------------------------------------- blueprint

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("whatsapp_webhook")
        if self.disabled_reason is not None:
            return self._disabled_blueprint(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            mode = request.args.get("hub.mode")
            token = request.args.get("hub.verify_token")
            challenge = request.args.get("hub.challenge")
            if mode == "subscribe" and challenge and tokens_match(self.config.verify_token, token):
                logger.info("WhatsApp: Meta verified the webhook.")
                return response.text(challenge)
            logger.warning(
                "WhatsApp: refused a webhook verification request; the verify token in "
                "Meta's dashboard must equal WHATSAPP_VERIFY_TOKEN."
            )
            return response.json({"error": "Verification failed."}, status=403)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.body or b""
            if not signature_is_valid(
                self.config.app_secret or "", body, request.headers.get(SIGNATURE_HEADER)
            ):
                logger.warning(
                    "WhatsApp: rejected a webhook POST with a missing or invalid %s "
                    "header; if this was Meta, WHATSAPP_APP_SECRET does not match the "
                    "app secret in the Meta dashboard.",
                    SIGNATURE_HEADER,
                )
                return response.json({"error": "Invalid signature."}, status=403)
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return response.json({"error": "The request body is not valid JSON."}, status=400)
            if not isinstance(payload, dict):
                return response.json(
                    {"error": "The request body must be a JSON object."}, status=400
                )
            accepted = self.accept(payload, on_new_message)
            # Answered at once: the bot's reply goes out through the Graph API later, so
            # Meta never times out and redelivers while the bot is thinking.
            return response.json({"status": "received", "messages": accepted})

        @webhook.listener("before_server_stop")
        async def finish(app: Any, loop: Any) -> None:
            await self.drain()
            for task in list(self._tasks):
                task.cancel()
            if self.client is not None:
                await self.client.close()

        return webhook

    def _disabled_blueprint(self, webhook: Blueprint) -> Blueprint:
        logger.error(
            "%s The /webhooks/whatsapp/webhook endpoint answers 503 until then.",
            self.disabled_reason,
        )
        error = {"error": self.disabled_reason, "missing": self.config.missing}

        @webhook.route("/", methods=["GET", "POST"])
        async def disabled_health(request: Request) -> HTTPResponse:
            return response.json(error, status=503)

        @webhook.route("/webhook", methods=["GET", "POST"])
        async def disabled_webhook(request: Request) -> HTTPResponse:
            return response.json(error, status=503)

        return webhook


__all__ = ["TEXT_ONLY_REPLY", "WhatsAppInput", "WhatsAppOutput"]
