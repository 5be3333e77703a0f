"""Pseudonyms for patients in logs: conversations can be correlated, patients not identified."""

from __future__ import annotations

import hashlib
import hmac
import os

# Without a configured key, a random one per process: an unkeyed hash of a phone
# number could be reversed by trying every number.
_PROCESS_KEY = os.urandom(32)


def pseudonym(sender_id: str, key: bytes | None = None, prefix: str = "") -> str:
    """A short keyed hash of a sender id, stable for the same key."""
    digest = hmac.new(key or _PROCESS_KEY, sender_id.encode("utf-8"), hashlib.sha256)
    return prefix + digest.hexdigest()[:12]
