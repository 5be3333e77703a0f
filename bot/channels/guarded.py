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
import json
import logging
import re
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    UserMessage,
    decode_bearer_token,
)
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream
from socketio import AsyncRedisManager, AsyncServer

from bot.channels.client_address import client_address
from bot.channels.conversation_ids import (
    RESERVED_PREFIXES,
    is_reserved,
    issue_web_session_id,
    web_session_id_is_valid,
)
from bot.channels.pseudonym import pseudonym
from bot.channels.ratelimit import RateLimiter
from bot.config import Settings, get_settings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
MAX_SENDER_CHARS = 128
# Keep a few times the NLU limit so staff see what was sent, without storing floods.
STORED_TEXT_FACTOR = 4
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Redis pub/sub channel the Rasa replicas share socket.io emits on (pub/sub ignores the
# database number; the name keeps it apart from other users of the same Redis).
SOCKETIO_REDIS_CHANNEL = "meso-socketio"


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


# What a patient reads when a chat channel (socket.io, WhatsApp) refuses a message.
UNREADABLE_REPLY = "Sorry, I couldn't read that message. Please type your question."
RATE_LIMITED_REPLY = "You're sending messages very fast. Please wait a moment."


class InputGuard:
    """The checks every patient channel applies before Rasa sees a message: the text
    cleaned (clean_text) and rate limits per conversation and per client address
    (MESO_RATE_LIMIT_SENDER, MESO_RATE_LIMIT_IP). REST, socket.io and WhatsApp each
    hold one."""

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        self.sender_limiter = RateLimiter(settings.rate_limit_sender)
        self.ip_limiter = RateLimiter(settings.rate_limit_ip)

    clean_text = staticmethod(clean_text)

    def retry_after(self, sender: str, ip: str | None = None) -> float:
        """0 if the message may go on (it is counted), else seconds to wait. The
        address is checked first, so a flood from one address can't use up a
        patient's own allowance."""
        if ip is not None:
            wait = self.ip_limiter.retry_after(ip)
            if wait:
                return wait
        return self.sender_limiter.retry_after(sender)


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
        self.guard = InputGuard()

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
        wait = self.guard.retry_after(sender, client_ip(request))
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


def socketio_client_manager(settings: Settings) -> AsyncRedisManager | None:
    """With MESO_REDIS_HOST set (the production profile's lock store), socket.io emits
    go through Redis, so a message for a widget reaches its socket whichever Rasa
    replica sends it: a staff message arrives through Rasa's HTTP API on any replica,
    not necessarily the one holding the patient's connection. None: in-process only."""
    url = settings.redis_url(0)
    if url is None:
        return None
    return AsyncRedisManager(url, channel=SOCKETIO_REDIS_CHANNEL, logger=logger)


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socketio channel with server-issued session ids, origin checks and limits.

    Rasa's own channel lets a client name any session id: it joins that id's room and
    receives that conversation's replies, and it can post into it. Here:
    - session ids are issued and signed by the server (``web:<nonce>.<mac>``); a client
      may resume one it holds (after a reload) unless another live connection holds
      it; anything else gets a fresh id;
    - each connection is bound to one session id; the ``session_id`` in a message is
      ignored in favour of the bound one;
    - messages are rate limited per session and per client address (a new session id
      doesn't reset the address's count);
    - browsers must connect from the clinic's website origins.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = InputGuard()
        # sid -> (session id or None before session_request, client address)
        self.connections: dict[str, tuple[str | None, str]] = {}
        self.owners: dict[str, str] = {}  # session id -> the sid that holds it

    def origin_allowed(self, environ: dict) -> bool:
        """True for clients without an Origin (not browsers) and for the clinic's
        website origins; with none listed, for the same origin only.

        Checked here rather than through python-socketio's cors_allowed_origins: given
        a list it adds CORS headers that Rasa's --cors (sanic-cors) adds again, and
        browsers reject the doubled header; given [] (Rasa's default) it checks nothing.
        """
        origin = environ.get("HTTP_ORIGIN")
        if not origin:
            return True
        origins = set(get_settings().clinic.website_origins)
        if origins:
            return origin.rstrip("/") in {o.rstrip("/") for o in origins}
        return origin.split("://", 1)[-1].rstrip("/") == environ.get("HTTP_HOST", "")

    def bind_session(self, sid: str, requested: Any, ip: str) -> str:
        """The session id this connection may use: the requested one if the server
        issued it and no other live connection holds it, else a new one."""
        self.release(sid)
        owner = self.owners.get(requested) if isinstance(requested, str) else None
        if web_session_id_is_valid(requested) and owner in (None, sid):
            session_id = requested
        else:
            session_id = issue_web_session_id()
        self.connections[sid] = (session_id, ip)
        self.owners[session_id] = sid
        return session_id

    def release(self, sid: str) -> str | None:
        session_id, _ip = self.connections.pop(sid, (None, ""))
        if session_id is not None and self.owners.get(session_id) == sid:
            del self.owners[session_id]
        return session_id

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # [] leaves the CORS headers to Rasa's --cors; origin_allowed() does the check.
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=[],
            client_manager=socketio_client_manager(get_settings()),
        )
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: dict | None) -> bool:
            request = environ.get("sanic.request")
            ip = client_ip(request) if request is not None else "unknown"
            if not self.origin_allowed(environ):
                logger.warning("socket.io: refused a connection from a foreign origin")
                return False
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                if not token or not decode_bearer_token(token, self.jwt_key, self.jwt_algorithm):
                    return False
            self.connections[sid] = (None, ip)
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            session_id = self.release(sid)
            if session_id is not None:
                sio.leave_room(sid, session_id, namespace=self.namespace)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            ip = self.connections.get(sid, (None, "unknown"))[1]
            previous = self.connections.get(sid, (None, ""))[0]
            if previous is not None:
                sio.leave_room(sid, previous, namespace=self.namespace)
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = self.bind_session(sid, requested, ip)
            sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            output = SocketIOOutput(sio, self.bot_message_evt)
            session_id, ip = self.connections.get(sid, (None, "unknown"))
            if session_id is None:
                return  # no session_request yet: nowhere to send a reply
            data = data if isinstance(data, dict) else {}
            try:
                text = clean_text(data.get("message"))
            except InvalidMessage:
                await output.send_text_message(session_id, UNREADABLE_REPLY)
                return
            if self.guard.retry_after(session_id, ip):
                await output.send_text_message(session_id, RATE_LIMITED_REPLY)
                return
            metadata = data.get(self.metadata_key)
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = None
            message = UserMessage(
                text,
                output,
                session_id,
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else {},
            )
            await on_new_message(message)

        return socketio_webhook
