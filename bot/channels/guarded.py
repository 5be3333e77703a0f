"""Rasa's REST and socketio channels with input validation and rate limits.

Same names and URLs as Rasa's built-ins (/webhooks/rest/webhook, /socket.io), so
clients don't change. Rasa's REST channel answers 500 to a JSON list or a numeric
message and accepts floods; here bad requests get a 4xx with a clear message,
control characters are stripped, and each sender and IP is rate limited. Texts over
the NLU limit are cut to a few times the limit (the tracker keeps that much) and the
pipeline's InputLengthGuard answers "please keep it shorter".
"""

from __future__ import annotations

import hmac
import logging
import re
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.channels.client_address import client_address
from bot.channels.conversation_ids import RESERVED_PREFIXES, is_reserved
from bot.channels.pseudonym import pseudonym
from bot.channels.ratelimit import RateLimiter, limit_from_env
from bot.config import get_settings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
MAX_SENDER_CHARS = 128
# Keep a few times the NLU limit so staff see what was sent, without storing floods.
STORED_TEXT_FACTOR = 4
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InvalidMessage(ValueError):
    """The request can't be a patient message; the text says why."""


def clean_text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidMessage("'message' must be a string")
    text = _CONTROL_CHARS.sub("", value).strip()
    if not text:
        raise InvalidMessage("'message' is empty")
    limit = get_settings().max_message_chars * STORED_TEXT_FACTOR
    return text[:limit]


def clean_sender(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidMessage("'sender' must be a non-empty string")
    if len(value) > MAX_SENDER_CHARS or _CONTROL_CHARS.search(value):
        raise InvalidMessage(f"'sender' must be at most {MAX_SENDER_CHARS} printable characters")
    return value


def _error(status: int, message: str, **headers: str) -> HTTPResponse:
    return response.json({"error": message}, status=status, headers=headers or None)


def client_ip(request: Request) -> str:
    """The patient's address, for per-IP limits; see bot.channels.client_address."""
    return client_address(request.ip or "", request.headers.get("x-forwarded-for"))


def _bearer_token(request: Request) -> str:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class GuardedRestInput(RestInput):
    """POST /webhooks/rest/webhook with validation and per-sender/per-IP rate limits.

    The guard runs inside the route handler, so every path Sanic routes to it
    (``/webhook`` and ``/webhook/``) is validated. ``input_channel`` is always
    ``rest``, whatever the body says, and senders can't use another channel's
    conversation ids (bot.channels.conversation_ids).
    """

    def __init__(self) -> None:
        self.sender_limiter = RateLimiter(limit_from_env("MESO_RATE_LIMIT_SENDER", "30/60"))
        self.ip_limiter = RateLimiter(limit_from_env("MESO_RATE_LIMIT_IP", "120/60"))

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GuardedRestInput:
        return cls()

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()  # never the client's claim: staff filter and trust it

    def check_access(self, request: Request) -> HTTPResponse | None:
        """None if the REST channel is open to this request, else a 401/403."""
        settings = get_settings()
        if settings.rest_token:
            if not hmac.compare_digest(_bearer_token(request), settings.rest_token):
                return _error(401, "the REST channel needs 'Authorization: Bearer <token>'")
            return None
        if settings.production:
            return _error(
                403,
                "the REST channel is off in production; patients use the widget or "
                "WhatsApp (set MESO_REST_TOKEN to enable it for trusted integrations)",
            )
        return None

    def validate(self, request: Request) -> HTTPResponse | None:
        """None if the request may go to Rasa, else the 4xx response to send."""
        denied = self.check_access(request)
        if denied is not None:
            return denied
        if len(request.body or b"") > MAX_BODY_BYTES:
            return _error(413, f"request body over {MAX_BODY_BYTES // 1024} KB")
        try:
            body = request.json
        except Exception:  # sanic raises on invalid JSON or bad encoding
            return _error(400, 'body must be UTF-8 JSON like {"sender": "...", "message": "..."}')
        if not isinstance(body, dict):
            return _error(400, "body must be a JSON object with 'sender' and 'message'")
        try:
            sender = clean_sender(body.get("sender"))
            text = clean_text(body.get("message"))
        except InvalidMessage as exc:
            return _error(400, str(exc))
        if is_reserved(sender):
            return _error(
                400,
                f"'sender' must not start with {' or '.join(RESERVED_PREFIXES)}: "
                "those conversation ids belong to other channels",
            )
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            return _error(400, "'metadata' must be a JSON object")
        for limiter, key in ((self.ip_limiter, client_ip(request)), (self.sender_limiter, sender)):
            wait = limiter.retry_after(key)
            if wait:
                logger.warning("Rate limit hit for sender %s", pseudonym(sender))
                return _error(
                    429,
                    "too many messages; please wait a moment",
                    **{"Retry-After": str(max(1, round(wait)))},
                )
        body["sender"], body["message"] = sender, text
        body.pop("input_channel", None)
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @rest.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        # Rasa's own handler would accept /webhook/ unguarded; this one validates first.
        @rest.route("/webhook", methods=["POST"], strict_slashes=False)
        async def receive(request: Request) -> HTTPResponse | ResponseStream:
            problem = self.validate(request)
            if problem is not None:
                return problem
            body = request.json
            if bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(
                        on_new_message, body["message"], body["sender"], self.name(),
                        body.get("metadata"),
                    ),
                    content_type="text/event-stream",
                )  # fmt: skip
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        body["message"],
                        collector,
                        body["sender"],
                        input_channel=self.name(),
                        metadata=body.get("metadata"),
                    )
                )
            except CancelledError:
                logger.error("REST: answering %s timed out", pseudonym(body["sender"]))
            except Exception as exc:
                # Rasa's handler logs the text; a patient's words stay out of logs.
                logger.error(
                    "REST: the bot failed to answer %s (%s)",
                    pseudonym(body["sender"]),
                    type(exc).__name__,
                )
                logger.debug("REST: traceback of the failure above", exc_info=True)
            return response.json(collector.messages)

        return rest


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socketio channel; messages are validated and rate limited per session."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GuardedSocketIOInput:
        channel = super().from_credentials(credentials)  # already an instance of cls
        channel.sender_limiter = RateLimiter(limit_from_env("MESO_RATE_LIMIT_SENDER", "30/60"))
        return channel  # type: ignore[return-value]

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def guarded(message: UserMessage) -> None:
            try:
                message.text = clean_text(message.text)
            except InvalidMessage:
                await message.output_channel.send_text_message(
                    message.sender_id,
                    "Sorry, I couldn't read that message. Please type your question.",
                )
                return
            if self.sender_limiter.retry_after(str(message.sender_id)):
                await message.output_channel.send_text_message(
                    message.sender_id, "You're sending messages very fast. Please wait a moment."
                )
                return
            await on_new_message(message)

        return super().blueprint(guarded)
