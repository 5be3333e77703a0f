"""Hide contact details (emails, phone numbers) from roles that may not see them.

Applied to whole view models right before rendering or exporting, so a template
cannot forget it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits with the usual separators; we count the digits afterwards so that
# short numbers ("10 sessions", "1952") stay readable.
PHONE_CANDIDATE = re.compile(r"(?<![\w@])\+?\(?\d[\d\s().-]{4,}\d(?![\w@])")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MIN_PHONE_DIGITS = 7

EMAIL_MARK = "[email hidden]"
PHONE_MARK = "[phone hidden]"

T = TypeVar("T")


def _phone(match: re.Match[str], mark: str) -> str:
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    if digits < MIN_PHONE_DIGITS or ISO_DATE.match(found.strip()):
        return found
    return mark


def redact_text(text: str, email_mark: str = EMAIL_MARK, phone_mark: str = PHONE_MARK) -> str:
    if not text:
        return text
    text = EMAIL.sub(email_mark, text)
    return PHONE_CANDIDATE.sub(lambda m: _phone(m, phone_mark), text)


def redact(value: T) -> T:
    """A copy of `value` with every string inside it redacted (dicts, lists, dataclasses)."""
    return _redact(value)  # type: ignore[no-any-return]


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: _redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_redact(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _redact(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.init and not f.metadata.get("keep")
        }
        return dataclasses.replace(value, **changes)
    return value
