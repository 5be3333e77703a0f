"""Reading contact details out of what patients type into the handoff form.

Pure functions, no Rasa: the form validation action (``actions.forms``) calls them
and decides what to ask again. Patients type "my number is 07700 900456" or
"email me at anna@example.com", so each parser finds the value inside a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHANNELS = ("phone", "email", "whatsapp")

# Words that name a channel outright; the first one mentioned wins.
_CHANNEL_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("whatsapp", re.compile(r"\b(whats\s?app|whatsap|watsapp|wa)\b", re.I)),
    ("email", re.compile(r"\b(e-?mail|mail|gmail)\b", re.I)),
    ("phone", re.compile(r"\b(phone|mobile|cell|telephone|landline)\b", re.I)),
)
# Words that only suggest the phone ("text me on whatsapp" is WhatsApp, not phone).
_PHONE_HINT = re.compile(r"\b(call|calls|ring|number|text|tel|sms)\b", re.I)

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A run of digits with the separators people type: spaces, dots, dashes, brackets,
# a leading + (or 00). Matched whole, then checked: "77OO 9OO123" is no number.
_PHONE = re.compile(r"(?<![\w@.+])[(+]*\d[\d\s().\-]*")
# Digit runs that are dates or times, not numbers ("12.05.2026", "10.00-12.00"):
# patients type them when asked for the best time to call.
_DATE_OR_TIME = re.compile(
    r"^(\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}[.:]\d{2}\s*-\s*\d{1,2}[.:]\d{2})$"
)
# "+44 (0)20 ...": the (0) is dropped when dialling from abroad, so staff don't need it.
_TRUNK_ZERO = re.compile(r"^(\+\d{1,3})\s*\(0\)\s*")
_MIN_PHONE_DIGITS = 7
_MAX_PHONE_DIGITS = 15  # E.164 maximum

_NAME_PREFIX = re.compile(
    r"^\s*(?:hi|hello|hey)?[\s,]*(?:my name is|my name's|name is|name's|i am|i'm|im|"
    r"this is|it's|its|call me|you can call me)\s+",
    re.I,
)
_NOT_A_NAME = {
    "yes",
    "no",
    "ok",
    "okay",
    "yeah",
    "nope",
    "sure",
    "hi",
    "hello",
    "thanks",
    "phone",
    "email",
    "whatsapp",
}
_MAX_NAME_CHARS = 60
_MAX_NAME_WORDS = 5
_MAX_TIME_CHARS = 200

_CONSENT_NO = re.compile(
    r"\b(no|nope|nah|don'?t|do not|rather not|not ok|not okay|refuse|disagree)\b", re.I
)
_CONSENT_YES = re.compile(
    r"\b(yes|yeah|yep|yup|ok|okay|sure|agree|i agree|fine|go ahead|of course|alright|y)\b",
    re.I,
)


@dataclass(frozen=True)
class ContactDetail:
    """A way to reach the patient: the channel and the number or address."""

    channel: str
    value: str


def named_channel(text: str) -> str | None:
    """The channel a message names outright ("email is fine"), ignoring mere hints."""
    found = [
        (match.start(), channel)
        for channel, pattern in _CHANNEL_WORDS
        if (match := pattern.search(text or ""))
    ]
    return min(found)[1] if found else None


def channel_in(text: str) -> str | None:
    """The contact channel a message names ("phone is best" -> phone), if any.

    When several are named ("phone or email"), the first one mentioned wins; words
    that merely suggest a phone ("call me") count only when no channel is named.
    """
    if named := named_channel(text):
        return named
    return "phone" if _PHONE_HINT.search(text or "") else None


def detail_in(text: str, channel: str | None = None) -> ContactDetail | None:
    """The phone number or email address in a message, with the channel it implies.

    Patients type their number or address whatever the form asked, so this is read
    at every step. An address means email; a number means a call, unless WhatsApp is
    named in the message or was chosen before (``channel``) and the message names
    no other channel. With both, the named or chosen channel picks one.
    """
    email = email_in(text)
    phone = phone_in(text)
    named = named_channel(text)
    wanted = named or channel
    if email and (wanted == "email" or not phone):
        return ContactDetail("email", email)
    if phone:
        return ContactDetail("whatsapp" if wanted == "whatsapp" else "phone", phone)
    return None


def email_in(text: str) -> str | None:
    """The email address in a message, with the domain lower-cased."""
    match = _EMAIL.search(text or "")
    if not match:
        return None
    local, domain = match.group(0).rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def phone_in(text: str) -> str | None:
    """The phone number in a message, tidied ("07700-900 456." -> "07700 900 456").

    Accepts 7 to 15 digits, an optional leading + (or 00), and the separators
    people type: spaces, dashes, dots and brackets. Letters inside the number make
    it invalid; dates and time ranges are not numbers.
    """
    text = text or ""
    for match in _PHONE.finditer(text):
        candidate = match.group(0).rstrip(" .-(")
        after = text[match.start() + len(candidate) : match.start() + len(candidate) + 1]
        if after.isalnum() or after == "@" or _DATE_OR_TIME.match(candidate):
            continue  # glued to letters ("612 345 67a"), or a date or time range
        candidate = _TRUNK_ZERO.sub(r"\1 ", candidate)
        digits = re.sub(r"\D", "", candidate)
        if _MIN_PHONE_DIGITS <= len(digits) <= _MAX_PHONE_DIGITS:
            return re.sub(r"[\s.\-()]+", " ", candidate).strip()
    return None


def name_in(text: str) -> str | None:
    """A name from "I'm Anna", "my name is Anna Kowalski" or just "Anna".

    Rejects what is clearly not a name: questions, numbers, email addresses, long
    sentences, a bare yes/no.
    """
    candidate = _NAME_PREFIX.sub("", (text or "").strip())
    candidate = candidate.strip(" .,!;:\"'")
    if not candidate or len(candidate) > _MAX_NAME_CHARS:
        return None
    if "?" in candidate or "@" in candidate or re.search(r"\d", candidate):
        return None
    if len(candidate.split()) > _MAX_NAME_WORDS or candidate.lower() in _NOT_A_NAME:
        return None
    return candidate


def time_in(text: str) -> str | None:
    """The best time to call, kept as the patient wrote it ("weekday mornings")."""
    candidate = (text or "").strip().strip(" .!;")
    if not candidate or len(candidate) > _MAX_TIME_CHARS:
        return None
    if candidate.endswith("?") and len(candidate.split()) > 3:
        return None  # a question, not a time ("will the nurse call me today?")
    return candidate


def consent_in(text: str) -> bool | None:
    """Yes/no from a typed answer; None when it is neither (then we ask again)."""
    if _CONSENT_NO.search(text or ""):
        return False
    if _CONSENT_YES.search(text or ""):
        return True
    return None
