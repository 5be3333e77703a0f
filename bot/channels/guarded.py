"""Rasa's REST and socketio channels with input validation and rate limits.

Same names and URLs as Rasa's built-ins (/webhooks/rest/webhook, /socket.io), so
clients don't change. Rasa's REST channel answers 500 to a JSON list or a numeric
message and accepts floods; here bad requests get a 4xx with a clear message,
control characters are stripped, and each sender and IP is rate limited. Texts over
the NLU limit are cut to a few times the limit (the tracker keeps that much) and the
pipeline's InputLengthGuard answers "please keep it shorter".
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

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
    if os.environ.get("MESO_TRUST_PROXY") == "1":
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.ip or "unknown"


class GuardedRestInput(RestInput):
    """POST /webhooks/rest/webhook with validation and per-sender/per-IP rate limits."""

    def __init__(self) -> None:
        self.sender_limiter = RateLimiter(limit_from_env("MESO_RATE_LIMIT_SENDER", "30/60"))
        self.ip_limiter = RateLimiter(limit_from_env("MESO_RATE_LIMIT_IP", "120/60"))

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GuardedRestInput:
        return cls()

    def validate(self, request: Request) -> HTTPResponse | None:
        """None if the request may go to Rasa, else the 4xx response to send."""
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
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest = super().blueprint(on_new_message)

        @rest.middleware("request")
        async def guard(request: Request) -> HTTPResponse | None:
            if request.method == "POST" and request.path.endswith("/webhook"):
                return self.validate(request)
            return None

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
