"""Parsing contact details out of what patients type (actions.contact)."""

from __future__ import annotations

import pytest

from actions import contact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+44 7700 900123", "+44 7700 900123"),
        ("my number is 07700 900456", "07700 900456"),
        ("call me on 07700-900-981.", "07700 900 981"),
        ("(020) 7946 0018", "020 7946 0018"),
        ("0049 151 0000 0000", "0049 151 0000 0000"),
        ("+1 555 0142 000", "+1 555 0142 000"),
    ],
)
def test_phone_numbers_are_found_in_sentences(text: str, expected: str) -> None:
    assert contact.phone_in(text) == expected


@pytest.mark.parametrize(
    "text", ["07", "123", "call me", "anna@example.com", "+44 77OO 9OO123", "1234567890123456789"]
)
def test_non_phone_numbers_are_rejected(text: str) -> None:
    assert contact.phone_in(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("anna.k@gmail.com", "anna.k@gmail.com"),
        ("my email is J.Smith@Example.COM", "J.Smith@example.com"),
        ("email me at maria_lopez+meso@example.org please", "maria_lopez+meso@example.org"),
    ],
)
def test_email_addresses_are_found_in_sentences(text: str, expected: str) -> None:
    assert contact.email_in(text) == expected


@pytest.mark.parametrize("text", ["anna at gmail", "anna@", "anna@gmail", "@example.com", ""])
def test_non_emails_are_rejected(text: str) -> None:
    assert contact.email_in(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("phone", "phone"),
        ("Phone please", "phone"),
        ("call me", "phone"),
        ("by email please", "email"),
        ("E-mail", "email"),
        ("whatsapp", "whatsapp"),
        ("text me on whatsapp", "whatsapp"),
        ("WhatsApp is easiest", "whatsapp"),
        ("email or phone, whatever", "email"),
        ("pigeon", None),
    ],
)
def test_contact_channel_is_read_from_words(text: str, expected: str | None) -> None:
    assert contact.channel_in(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Anna", "Anna"),
        ("my name is Anna Kowalski", "Anna Kowalski"),
        ("i'm Sarah.", "Sarah"),
        ("call me Jess", "Jess"),
        ("José María", "José María"),
        ("does it hurt?", None),
        ("07700 900123", None),
        ("anna@example.com", None),
        ("no", None),
        ("this is a very long sentence that is not a name at all", None),
    ],
)
def test_names(text: str, expected: str | None) -> None:
    assert contact.name_in(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("weekday mornings", "weekday mornings"),
        ("after 5pm.", "after 5pm"),
        ("anytime", "anytime"),
        ("will the nurse call me today?", None),
        ("", None),
        ("x" * 300, None),
    ],
)
def test_contact_times(text: str, expected: str | None) -> None:
    assert contact.time_in(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("ok go ahead", True),
        ("I agree", True),
        ("no", False),
        ("I'd rather not", False),
        ("don't store anything", False),
        ("maybe later", None),
    ],
)
def test_typed_consent(text: str, expected: bool | None) -> None:
    assert contact.consent_in(text) is expected
