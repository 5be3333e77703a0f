"""Conversation ids that only their own channel can address.

Rasa keys every conversation by a sender id, and the REST channel takes that id from
the request body. So ids are namespaced:

- WhatsApp: ``wa:`` + a keyed hash of the patient's number. The number never becomes
  a conversation id, so knowing it doesn't let anyone open or join the conversation,
  and the tracker store holds no phone numbers as keys.
- Website widget (socket.io): ``web:`` + a random id signed by the server. A client
  can only resume a session id the server issued to it.
- REST: whatever the client sends, except these reserved prefixes.

The key comes from ``MESO_CONVERSATION_ID_KEY`` (every replica needs the same one);
without it, a key generated once in ``var/`` serves a single machine.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from pathlib import Path

from bot.config import ConfigError, get_settings, read_or_create_key_file

WHATSAPP_PREFIX = "wa:"
WEB_PREFIX = "web:"
RESERVED_PREFIXES = (WHATSAPP_PREFIX, WEB_PREFIX)
KEY_FILE = "conversation_id.key"
_SIGNATURE_CHARS = 24


def load_or_create_key(var_dir: Path) -> str:
    """The key in ``var/conversation_id.key``, generated (mode 0600) on first use."""
    return read_or_create_key_file(
        var_dir / KEY_FILE,
        "restore it from a backup (conversation ids depend on it) or set MESO_CONVERSATION_ID_KEY",
    )


def conversation_key() -> bytes:
    settings = get_settings()
    if settings.conversation_id_key:
        return settings.conversation_id_key.encode("utf-8")
    if settings.production:
        # Each replica would generate its own key and split every WhatsApp conversation.
        raise ConfigError(
            "MESO_CONVERSATION_ID_KEY must be set in production (MESO_PROFILE=production), "
            "the same on every Rasa replica; generate it once with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` and keep it: "
            "conversation ids depend on it"
        )
    return load_or_create_key(settings.var_dir).encode("utf-8")


def _mac(key: bytes, purpose: str, value: str) -> str:
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def whatsapp_conversation_id(number: str, key: bytes | None = None) -> str:
    """The conversation id of a WhatsApp number: stable, and not the number."""
    digits = "".join(ch for ch in number if ch.isdigit())  # "+44 7700" and "447700" agree
    return WHATSAPP_PREFIX + _mac(key or conversation_key(), "whatsapp", digits)[:32]


def issue_web_session_id(key: bytes | None = None) -> str:
    """A new widget session id, signed so the server can recognise it later."""
    nonce = uuid.uuid4().hex
    return f"{WEB_PREFIX}{nonce}.{_mac(key or conversation_key(), 'web', nonce)[:_SIGNATURE_CHARS]}"


def web_session_id_is_valid(session_id: object, key: bytes | None = None) -> bool:
    """True only for a session id this server (or a replica with the same key) issued."""
    if not isinstance(session_id, str) or not session_id.startswith(WEB_PREFIX):
        return False
    nonce, _, signature = session_id[len(WEB_PREFIX) :].partition(".")
    if len(nonce) != 32 or not signature:
        return False
    expected = _mac(key or conversation_key(), "web", nonce)[:_SIGNATURE_CHARS]
    return hmac.compare_digest(expected, signature)


def is_reserved(sender_id: str) -> bool:
    """True if a client-chosen (REST) sender id would enter another channel's namespace."""
    return sender_id.strip().lower().startswith(RESERVED_PREFIXES)
