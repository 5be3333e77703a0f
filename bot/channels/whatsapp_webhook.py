"""Reading WhatsApp Cloud API webhooks: signatures, payload parsing and deduplication.

Payload shape: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="

# Message types we can turn into text for Rasa; every other user message type (image,
# audio, video, document, sticker, location, contacts, reaction, order, unsupported, ...)
# gets the polite "text only" reply.
TEXT = "text"
REPLY = "reply"
UNSUPPORTED = "unsupported"
# Notices about the account rather than something the patient said.
_IGNORED_TYPES = {"system", "request_welcome", "ephemeral"}


def sign(app_secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 header value Meta sends for ``body``."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + digest


def signature_is_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of the HMAC-SHA256 of the raw request bytes."""
    if not app_secret or not header:
        return False
    header = header.strip()
    if not header.lower().startswith(_SIGNATURE_PREFIX):
        return False
    provided = header[len(_SIGNATURE_PREFIX) :].strip().lower().encode("utf-8", "replace")
    expected = sign(app_secret, body)[len(_SIGNATURE_PREFIX) :].encode("ascii")
    return hmac.compare_digest(expected, provided)


def tokens_match(expected: str | None, provided: str | None) -> bool:
    if not expected or provided is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), provided.encode("utf-8"))


@dataclass(frozen=True)
class InboundMessage:
    """One message from a patient, reduced to what the bot needs."""

    message_id: str
    sender: str  # the patient's WhatsApp id (their phone number): never log it
    kind: str  # TEXT, REPLY or UNSUPPORTED
    type: str  # WhatsApp's message type, e.g. "text", "interactive", "image"
    text: str | None = None  # the text, or for a REPLY the reply id (the Rasa payload)
    reply_title: str | None = None
    timestamp: str | None = None
    phone_number_id: str | None = None

    def metadata(self) -> dict[str, Any]:
        """What Rasa stores with the user message (no profile name: data minimisation)."""
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "type": self.type,
            "timestamp": self.timestamp,
            "phone_number_id": self.phone_number_id,
        }
        if self.kind == REPLY:
            data["reply_title"] = self.reply_title
        return {"whatsapp": {k: v for k, v in data.items() if v is not None}}


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _reply(message: dict[str, Any]) -> tuple[str | None, str | None]:
    """(payload, title) of an interactive button/list reply or a template button."""
    if message.get("type") == "interactive":
        interactive = message.get("interactive") or {}
        if not isinstance(interactive, dict):
            return None, None
        reply = interactive.get(interactive.get("type") or "")
        if interactive.get("type") in ("button_reply", "list_reply") and isinstance(reply, dict):
            return reply.get("id"), reply.get("title")
        return None, None
    button = message.get("button") or {}
    if isinstance(button, dict):
        return button.get("payload") or button.get("text"), button.get("text")
    return None, None


def _inbound(message: dict[str, Any], phone_number_id: str | None) -> InboundMessage | None:
    message_id = message.get("id")
    sender = message.get("from")
    message_type = str(message.get("type") or UNSUPPORTED)
    if not isinstance(message_id, str) or not isinstance(sender, str) or not sender:
        return None
    common = {
        "message_id": message_id,
        "sender": sender,
        "type": message_type,
        "timestamp": str(message["timestamp"]) if message.get("timestamp") else None,
        "phone_number_id": phone_number_id,
    }
    if message_type in _IGNORED_TYPES:
        return None
    if message_type == "text":
        body = message.get("text")
        text = body.get("body") if isinstance(body, dict) else None
        if isinstance(text, str) and text.strip():
            return InboundMessage(kind=TEXT, text=text, **common)
        return None
    if message_type in ("interactive", "button"):
        payload, title = _reply(message)
        if isinstance(payload, str) and payload.strip():
            return InboundMessage(
                kind=REPLY,
                text=payload,
                reply_title=title if isinstance(title, str) else None,
                **common,
            )
    return InboundMessage(kind=UNSUPPORTED, **common)


def parse_webhook(payload: Any, phone_number_id: str | None = None) -> list[InboundMessage]:
    """Every patient message in every entry and change of a webhook payload.

    Status updates (sent, delivered, read, failed) are ignored. With ``phone_number_id``
    set, messages addressed to another number of the same business account are skipped:
    we could only answer them from the wrong number.
    """
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return []
    messages: list[InboundMessage] = []
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
            to_number = metadata.get("phone_number_id")
            to_number = str(to_number) if to_number is not None else None
            if phone_number_id and to_number and to_number != phone_number_id:
                logger.warning(
                    "WhatsApp: skipping messages sent to another phone number id of the "
                    "business account; this server answers WHATSAPP_PHONE_NUMBER_ID only."
                )
                continue
            for message in _dicts(value.get("messages")):
                inbound = _inbound(message, to_number)
                if inbound is not None:
                    messages.append(inbound)
    return messages


class SeenMessageIds:
    """Bounded, time-limited memory of message ids (Meta redelivers webhooks).

    The in-process fallback: with Redis configured (``MESO_REDIS_HOST``) the ids are
    shared across replicas there, and this memory only serves while Redis is down
    (docs/whatsapp.md).
    """

    def __init__(
        self,
        max_size: int = 10_000,
        ttl_seconds: float = 24 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_size = max_size
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def first_time(self, message_id: str) -> bool:
        """Record ``message_id``; True unless it was seen within the TTL."""
        now = self._clock()
        with self._lock:
            while self._seen:
                oldest_id, seen_at = next(iter(self._seen.items()))
                if now - seen_at < self.ttl_seconds and len(self._seen) < self.max_size:
                    break
                del self._seen[oldest_id]
            if message_id in self._seen:
                return False
            self._seen[message_id] = now
            return True


class RedisSeenMessageIds:
    """Message ids shared by every Rasa replica through Redis (the lock store's server),
    so Meta's redelivery reaching another replica is still recognised.

    ``SET key 1 NX EX ttl`` records and checks in one atomic step. If Redis can't be
    reached, the process-local memory decides: answering a message twice is better
    than dropping a patient's message.
    """

    def __init__(
        self,
        client: Any,
        ttl_seconds: int = 24 * 3600,
        prefix: str = "meso:whatsapp:seen:",
        fallback: SeenMessageIds | None = None,
    ) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix
        self.fallback = fallback or SeenMessageIds(ttl_seconds=ttl_seconds)

    def first_time(self, message_id: str) -> bool:
        local = self.fallback.first_time(message_id)
        try:
            return bool(self.client.set(self.prefix + message_id, 1, nx=True, ex=self.ttl_seconds))
        except Exception as error:  # any Redis failure: fall back, say so
            logger.warning(
                "WhatsApp: Redis unavailable for deduplication (%s); using this replica's memory.",
                type(error).__name__,
            )
            return local


def seen_message_ids() -> SeenMessageIds | RedisSeenMessageIds:
    """Shared through Redis when MESO_REDIS_HOST is set (the production profile)."""
    from bot.config import get_settings

    settings = get_settings()
    if not settings.redis_host:
        return SeenMessageIds()
    import redis

    client = redis.Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        password=settings.redis_password,
        db=settings.redis_dedup_db,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )
    return RedisSeenMessageIds(client)
