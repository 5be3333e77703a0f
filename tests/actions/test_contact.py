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
        ("+34 612 345 678", "+34 612 345 678"),
        ("0034 612 345 678", "0034 612 345 678"),
        ("+34-612-345-678", "+34 612 345 678"),
        ("+34.612.345.678", "+34 612 345 678"),
        ("(+34) 612 345 678", "+34 612 345 678"),
        ("+1 (555) 010-4477", "+1 555 010 4477"),
        ("+44 (0)20 7946 0958", "+44 20 7946 0958"),  # the (0) isn't dialled from abroad
        ("call me, 612 345 678!", "612 345 678"),
    ],
)
def test_phone_numbers_are_found_in_sentences(text: str, expected: str) -> None:
    assert contact.phone_in(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "07",
        "123",
        "call me",
        "anna@example.com",
        "anna1234567@example.com",
        "+44 77OO 9OO123",
        "612 345 67a",
        "1234567890123456789",
        "12.05.2026",
        "10.00-12.00",
    ],
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
    ("text", "channel", "expected"),
    [
        ("+34 612 345 678", None, contact.ContactDetail("phone", "+34 612 345 678")),
        (
            "whatsapp me on +34 612 345 678",
            None,
            contact.ContactDetail("whatsapp", "+34 612 345 678"),
        ),
        ("+34 612 345 678", "whatsapp", contact.ContactDetail("whatsapp", "+34 612 345 678")),
        (
            "my phone is +34 612 345 678",
            "whatsapp",
            contact.ContactDetail("phone", "+34 612 345 678"),
        ),
        ("+34 612 345 678", "email", contact.ContactDetail("phone", "+34 612 345 678")),
        ("lea@example.com", "phone", contact.ContactDetail("email", "lea@example.com")),
        (
            "lea@example.com or 612 345 678",
            "email",
            contact.ContactDetail("email", "lea@example.com"),
        ),
        ("lea@example.com or 612 345 678", None, contact.ContactDetail("phone", "612 345 678")),
        ("call me", None, None),
        ("weekday mornings", "phone", None),
    ],
)
def test_contact_details_and_the_channel_they_imply(
    text: str, channel: str | None, expected: contact.ContactDetail | None
) -> None:
    assert contact.detail_in(text, channel) == expected


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
