"""Signature checks, payload parsing and deduplication, without HTTP."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.channels.whatsapp_webhook import (
    REPLY,
    TEXT,
    UNSUPPORTED,
    SeenMessageIds,
    parse_webhook,
    sign,
    signature_is_valid,
    tokens_match,
)
from tests.channels import payloads as p

SECRET = "s3cret"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_sign_is_hmac_sha256_of_raw_bytes() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY) == f"sha256={expected}"


def test_valid_signature_is_accepted() -> None:
    assert signature_is_valid(SECRET, BODY, sign(SECRET, BODY))


def test_uppercase_hex_is_accepted() -> None:
    header = "sha256=" + sign(SECRET, BODY).split("=", 1)[1].upper()
    assert signature_is_valid(SECRET, BODY, header)


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha1=abc", "garbage", "sha256=zz"])
def test_missing_or_malformed_signature_is_rejected(header: str | None) -> None:
    assert not signature_is_valid(SECRET, BODY, header)


def test_tampered_body_is_rejected() -> None:
    header = sign(SECRET, BODY)
    assert not signature_is_valid(SECRET, BODY.replace(b"[]", b"[{}]"), header)


def test_wrong_secret_is_rejected() -> None:
    assert not signature_is_valid(SECRET, BODY, sign("other-secret", BODY))


def test_empty_secret_never_validates() -> None:
    assert not signature_is_valid("", BODY, sign("", BODY))


def test_non_ascii_header_is_rejected_not_crashing() -> None:
    assert not signature_is_valid(SECRET, BODY, "sha256=é" * 3)


def test_re_serialised_json_does_not_validate() -> None:
    # The signature covers the raw bytes; a re-encoded body (other spacing) must fail.
    header = sign(SECRET, BODY)
    assert not signature_is_valid(SECRET, BODY.replace(b":", b": "), header)


def test_tokens_match_is_exact() -> None:
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abcd")
    assert not tokens_match("abc", None)
    assert not tokens_match(None, "abc")
    assert not tokens_match("", "")


def test_parses_every_entry_change_and_message() -> None:
    alice, bob = p.new_wa_id(), p.new_wa_id()
    payload = p.webhook(
        p.change([p.text_message(alice, "one"), p.text_message(alice, "two")]),
        p.change([p.text_message(bob, "three")]),
        p.change([p.button_reply(bob, "/ask_pain", "Pain")]),
        entries=3,
    )
    messages = parse_webhook(payload, p.PHONE_NUMBER_ID)
    assert [(m.sender, m.kind, m.text) for m in messages] == [
        (alice, TEXT, "one"),
        (alice, TEXT, "two"),
        (bob, TEXT, "three"),
        (bob, REPLY, "/ask_pain"),
    ]
    assert all(m.phone_number_id == p.PHONE_NUMBER_ID for m in messages)


def test_several_changes_in_one_entry() -> None:
    sender = p.new_wa_id()
    payload = p.webhook(
        p.change([p.text_message(sender, "a")]), p.change([p.text_message(sender, "b")])
    )
    assert [m.text for m in parse_webhook(payload)] == ["a", "b"]


def test_button_and_list_replies_use_the_reply_id_as_payload() -> None:
    sender = p.new_wa_id()
    payload = p.messages_webhook(
        p.button_reply(sender, "/ask_side_effects", "Side effects"),
        p.list_reply(sender, '/ask_aftercare{"activity":"sauna"}', "Sauna"),
    )
    button, row = parse_webhook(payload)
    assert (button.kind, button.text, button.reply_title) == (
        REPLY,
        "/ask_side_effects",
        "Side effects",
    )
    assert (row.kind, row.text) == (REPLY, '/ask_aftercare{"activity":"sauna"}')
    assert row.metadata()["whatsapp"]["reply_title"] == "Sauna"


def test_template_quick_reply_button_uses_its_payload() -> None:
    sender = p.new_wa_id()
    message = {
        "from": sender,
        "id": p.new_message_id(),
        "timestamp": "1",
        "type": "button",
        "button": {"payload": "/ask_booking", "text": "Book"},
    }
    (parsed,) = parse_webhook(p.messages_webhook(message))
    assert (parsed.kind, parsed.text) == (REPLY, "/ask_booking")


def test_status_updates_are_ignored() -> None:
    payload = p.webhook(
        p.change(statuses=[p.status_update("15550001111", s) for s in ("sent", "read")])
    )
    assert parse_webhook(payload) == []


def test_statuses_next_to_messages_do_not_hide_them() -> None:
    sender = p.new_wa_id()
    payload = p.webhook(
        p.change([p.text_message(sender, "hi")], statuses=[p.status_update(sender)])
    )
    assert [m.text for m in parse_webhook(payload)] == ["hi"]


@pytest.mark.parametrize(
    "media_type",
    [
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "unsupported",
    ],
)
def test_media_and_other_types_are_unsupported(media_type: str) -> None:
    (parsed,) = parse_webhook(p.messages_webhook(p.media_message(p.new_wa_id(), media_type)))
    assert parsed.kind == UNSUPPORTED
    assert parsed.type == media_type
    assert parsed.text is None


def test_system_messages_and_empty_texts_are_skipped() -> None:
    sender = p.new_wa_id()
    system = {"from": sender, "id": p.new_message_id(), "type": "system", "system": {"body": "x"}}
    payload = p.messages_webhook(system, p.text_message(sender, "   "))
    assert parse_webhook(payload) == []


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "text",
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": "nope"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]},
        {"object": "whatsapp_business_account", "entry": [{"changes": [1, None]}]},
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "messages", "value": {"messages": [{"id": 1}]}}]}],
        },
    ],
)
def test_odd_payloads_yield_nothing(payload: object) -> None:
    assert parse_webhook(payload) == []


def test_other_fields_are_ignored() -> None:
    sender = p.new_wa_id()
    other = p.change([p.text_message(sender, "hi")])
    other["field"] = "account_update"
    assert parse_webhook(p.webhook(other)) == []


def test_messages_to_another_number_are_skipped() -> None:
    sender = p.new_wa_id()
    payload = p.webhook(
        p.change([p.text_message(sender, "for us")]),
        p.change([p.text_message(sender, "for another number")], phone_number_id="999"),
    )
    assert [m.text for m in parse_webhook(payload, p.PHONE_NUMBER_ID)] == ["for us"]


def test_metadata_has_no_profile_name_or_text() -> None:
    sender = p.new_wa_id()
    (parsed,) = parse_webhook(p.messages_webhook(p.text_message(sender, "secret words")))
    meta = parsed.metadata()["whatsapp"]
    assert set(meta) == {"message_id", "type", "timestamp", "phone_number_id"}
    assert "Patient" not in str(meta) and "secret words" not in str(meta)


def test_seen_ids_remember_and_expire() -> None:
    now = [0.0]
    seen = SeenMessageIds(max_size=100, ttl_seconds=60, clock=lambda: now[0])
    assert seen.first_time("a")
    assert not seen.first_time("a")
    now[0] = 61
    assert seen.first_time("a")


def test_seen_ids_are_bounded() -> None:
    seen = SeenMessageIds(max_size=3, ttl_seconds=3600)
    for message_id in "abcd":
        assert seen.first_time(message_id)
    assert len(seen) == 3
    assert seen.first_time("a")  # the oldest was forgotten to make room
    assert not seen.first_time("d")
