"""The real stack for integration tests, and helpers to read its replies.

One stack per pytest session (starting Rasa takes ~40 s and ~1 GB), on free loopback
ports, with its own SQLite databases in a temporary folder and a fake WhatsApp Graph
API (tests/conftest.py). Starting it is bot.stack's job, shared with `make bench`.
"""

from __future__ import annotations

import json

from bot.stack import STARTUP_TIMEOUT_S, Stack, StackError, free_port

__all__ = [
    "STARTUP_TIMEOUT_S",
    "Stack",
    "StackError",
    "custom_payloads",
    "dump",
    "free_port",
    "texts",
]


def texts(messages: list[dict]) -> str:
    """All bot texts of a REST reply joined, for assertions."""
    return "\n".join(m.get("text", "") for m in messages if m.get("text"))


def custom_payloads(messages: list[dict]) -> list[dict]:
    return [
        m["custom"]["data"]
        for m in messages
        if isinstance(m.get("custom"), dict) and "data" in m["custom"]
    ]


def dump(messages: list[dict]) -> str:
    return json.dumps(messages, indent=2, ensure_ascii=False)
