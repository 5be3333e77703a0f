"""Reading contact details out of what patients type into the handoff form.

Pure functions, no Rasa: the form validation action (``actions.forms``) calls them
and decides what to ask again. Patients type "my number is 07700 900456" or
"email me at anna@example.com", so each parser finds the value inside a sentence.
"""

from __future__ import annotations

import re

CHANNELS = ("phone", "email", "whatsapp")

# Words that name a channel outright; the first one mentioned wins.
_CHANNEL_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("whatsapp", re.compile(r"\b(whats\s?app|whatsap|watsapp|wa)\b", re.I)),
    ("email", re.compile(r"\b(e-?mail|mail|gmail)\b", re.I)),
    ("phone", re.compile(r"\b(phone|mobile|cell|telephone|landline)\b", re.I)),
)
# Words that only suggest the phone ("text me on whatsapp" is WhatsApp, not phone).
_PHONE_HINT = re.compile(r"\b(call|calls|ring|number|text|tel)\b", re.I)

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A run of digits with the separators people type: spaces, dots, dashes, brackets.
_PHONE = re.compile(r"(?:\+|00)?\(?\d[\d\s().-]{4,}\d")
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


def channel_in(text: str) -> str | None:
    """The contact channel a message names ("phone is best" -> phone), if any.

    When several are named ("phone or email"), the first one mentioned wins; words
    that merely suggest a phone ("call me") count only when no channel is named.
    """
    found = [
        (match.start(), channel)
        for channel, pattern in _CHANNEL_WORDS
        if (match := pattern.search(text or ""))
    ]
    if found:
        return min(found)[1]
    return "phone" if _PHONE_HINT.search(text or "") else None


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
    people type. Letters inside the number make it invalid.
    """
    for match in _PHONE.finditer(text or ""):
        candidate = match.group(0).strip()
        digits = re.sub(r"\D", "", candidate)
        if _MIN_PHONE_DIGITS <= len(digits) <= _MAX_PHONE_DIGITS:
            tidy = re.sub(r"[\s.\-()]+", " ", candidate).strip()
            return tidy
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
