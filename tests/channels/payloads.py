"""Builders for WhatsApp Cloud API webhook payloads, shaped like Meta's.

https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

from bot.channels.whatsapp_webhook import SIGNATURE_HEADER, sign

PHONE_NUMBER_ID = "1234567890"
_counter = itertools.count(1)


def new_wa_id() -> str:
    """A made-up, unique patient number per test (the integration stack is shared)."""
    return "1555" + str(uuid.uuid4().int)[:8]


def new_message_id() -> str:
    return f"wamid.test{next(_counter)}.{uuid.uuid4().hex}"


def _message(sender: str, message_type: str, message_id: str | None, **body: Any) -> dict:
    return {
        "from": sender,
        "id": message_id or new_message_id(),
        "timestamp": str(int(time.time())),
        "type": message_type,
        **body,
    }


def text_message(sender: str, text: str, message_id: str | None = None) -> dict:
    return _message(sender, "text", message_id, text={"body": text})


def button_reply(sender: str, reply_id: str, title: str, message_id: str | None = None) -> dict:
    return _message(
        sender,
        "interactive",
        message_id,
        interactive={"type": "button_reply", "button_reply": {"id": reply_id, "title": title}},
    )


def list_reply(sender: str, reply_id: str, title: str, message_id: str | None = None) -> dict:
    return _message(
        sender,
        "interactive",
        message_id,
        interactive={
            "type": "list_reply",
            "list_reply": {"id": reply_id, "title": title, "description": ""},
        },
    )


def media_message(sender: str, media_type: str = "image", message_id: str | None = None) -> dict:
    bodies: dict[str, Any] = {
        "image": {"mime_type": "image/jpeg", "sha256": "abc", "id": "media-1"},
        "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "abc", "id": "media-2"},
        "video": {"mime_type": "video/mp4", "sha256": "abc", "id": "media-3"},
        "document": {"filename": "scan.pdf", "mime_type": "application/pdf", "id": "media-4"},
        "sticker": {"mime_type": "image/webp", "sha256": "abc", "id": "media-5", "animated": False},
        "location": {"latitude": 48.85, "longitude": 2.35, "name": "Clinic"},
        "contacts": [{"name": {"formatted_name": "Someone"}, "phones": [{"phone": "+1 555"}]}],
        "reaction": {"message_id": "wamid.earlier", "emoji": "\U0001f44d"},
        "unsupported": None,
    }
    extra = {media_type: bodies[media_type]} if bodies.get(media_type) is not None else {}
    if media_type == "unsupported":
        extra = {"errors": [{"code": 131051, "title": "Message type unknown"}]}
    return _message(sender, media_type, message_id, **extra)


def status_update(recipient: str, status: str = "delivered") -> dict:
    return {
        "id": new_message_id(),
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }


def change(
    messages: list[dict] | None = None,
    statuses: list[dict] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
) -> dict:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
    }
    if messages:
        senders = {m["from"] for m in messages}
        value["contacts"] = [{"profile": {"name": "Patient"}, "wa_id": s} for s in senders]
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {"field": "messages", "value": value}


def webhook(*changes: dict, entries: int = 1) -> dict:
    """A notification; with entries > 1 the changes are spread over several entries."""
    if entries <= 1:
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA-1", "changes": list(changes)}],
        }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": f"WABA-{i}", "changes": [c]} for i, c in enumerate(changes)],
    }


def messages_webhook(*messages: dict, phone_number_id: str = PHONE_NUMBER_ID) -> dict:
    return webhook(change(list(messages), phone_number_id=phone_number_id))


def signed(payload: dict | bytes, app_secret: str) -> tuple[bytes, dict[str, str]]:
    """Raw body and headers as Meta would send them."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, {SIGNATURE_HEADER: sign(app_secret, body), "Content-Type": "application/json"}
