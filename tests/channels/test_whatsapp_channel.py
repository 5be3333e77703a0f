"""The WhatsApp connector mounted on a real Sanic app, as Rasa mounts it."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import httpx
import pytest

from bot.channels.conversation_ids import whatsapp_conversation_id
from bot.channels.whatsapp import TEXT_ONLY_REPLY, WhatsAppInput
from bot.channels.whatsapp_config import DEFAULT_API_BASE_URL, WhatsAppConfig
from tests.channels import payloads as p
from tests.channels.conftest import (
    APP_SECRET,
    VERIFY_TOKEN,
    WEBHOOK,
    FakeBot,
    Harness,
    fast_client,
    make_config,
    new_app,
    serve,
    serve_app,
)
from tests.fakes.graph_api import FakeGraphAPI


async def post_signed(
    client: httpx.AsyncClient, payload: dict | bytes, secret: str = APP_SECRET
) -> httpx.Response:
    """POST ``payload`` as Meta would, signed with ``secret``."""
    body, headers = p.signed(payload, secret)
    return await client.post(WEBHOOK, content=body, headers=headers)


# ------------------------------------------------------------------------- handshake


async def test_health(harness: Harness) -> None:
    response = await harness.client.get("/webhooks/whatsapp/")
    assert response.status_code == 200


async def test_handshake_returns_the_challenge(harness: Harness) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    response = await harness.client.get(WEBHOOK, params=params)
    assert response.status_code == 200
    assert response.text == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
        {},
    ],
)
async def test_handshake_refuses_anything_else(harness: Harness, params: dict) -> None:
    response = await harness.client.get(WEBHOOK, params=params)
    assert response.status_code == 403
    assert response.text != "1"


# ---------------------------------------------------------------------- signatures


async def test_signed_text_reaches_the_bot_and_the_answer_goes_out(harness: Harness) -> None:
    sender = p.new_wa_id()
    message = p.text_message(sender, "how many sessions do I need?")
    response = await post_signed(harness.client, p.messages_webhook(message))
    assert response.status_code == 200
    await harness.settle()

    (received,) = harness.bot.received
    assert received.text == "how many sessions do I need?"
    # The conversation id is a keyed hash: the number can't address the conversation.
    assert received.sender_id == whatsapp_conversation_id(sender)
    assert received.sender_id.startswith("wa:") and sender not in received.sender_id
    assert received.input_channel == "whatsapp"
    assert received.message_id == message["id"]
    assert received.metadata["whatsapp"]["message_id"] == message["id"]
    assert received.metadata["whatsapp"]["phone_number_id"] == p.PHONE_NUMBER_ID

    (sent,) = harness.graph.sent_to(sender)
    assert sent.type == "interactive"
    assert sent.text.endswith("_Sources: Test article_")
    assert sent.reply_ids == ["/ask_side_effects"]


async def test_unsigned_post_is_rejected(harness: Harness) -> None:
    body = json.dumps(p.messages_webhook(p.text_message(p.new_wa_id(), "hi"))).encode()
    response = await harness.client.post(WEBHOOK, content=body)
    assert response.status_code == 403
    await harness.settle()
    assert harness.bot.received == [] and harness.graph.requests == []


async def test_tampered_post_is_rejected(harness: Harness) -> None:
    sender = p.new_wa_id()
    body, headers = p.signed(p.messages_webhook(p.text_message(sender, "hi")), APP_SECRET)
    tampered = body.replace(b'"hi"', b'"/request_human"')
    response = await harness.client.post(WEBHOOK, content=tampered, headers=headers)
    assert response.status_code == 403
    await harness.settle()
    assert harness.bot.received == [] and harness.graph.requests == []


async def test_wrong_secret_is_rejected(harness: Harness) -> None:
    payload = p.messages_webhook(p.text_message(p.new_wa_id(), "hi"))
    response = await post_signed(harness.client, payload, secret="not-the-app-secret")
    assert response.status_code == 403
    await harness.settle()
    assert harness.bot.received == []


async def test_malformed_json_is_400_after_the_signature_check(harness: Harness) -> None:
    response = await post_signed(harness.client, b"{not json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    unsigned = await harness.client.post(WEBHOOK, content=b"{not json")
    assert unsigned.status_code == 403


async def test_json_that_is_not_an_object_is_400(harness: Harness) -> None:
    response = await post_signed(harness.client, b"[1, 2]")
    assert response.status_code == 400


# ------------------------------------------------------------------------- parsing


async def test_multi_entry_payload_processes_every_message_in_order(harness: Harness) -> None:
    alice, bob = p.new_wa_id(), p.new_wa_id()
    payload = p.webhook(
        p.change([p.text_message(alice, "first"), p.text_message(alice, "second")]),
        p.change([p.text_message(bob, "bob one")]),
        p.change([p.list_reply(alice, "/ask_pain", "Pain")]),
        entries=3,
    )
    response = await post_signed(harness.client, payload)
    assert response.json() == {"status": "received", "messages": 4}
    await harness.settle()
    by_sender = {}
    for message in harness.bot.received:
        by_sender.setdefault(message.sender_id, []).append(message.text)
    assert by_sender == {
        whatsapp_conversation_id(alice): ["first", "second", "/ask_pain"],
        whatsapp_conversation_id(bob): ["bob one"],
    }


async def test_button_reply_sends_its_id_as_the_payload(harness: Harness) -> None:
    sender = p.new_wa_id()
    await post_signed(
        harness.client,
        p.messages_webhook(p.button_reply(sender, "/ask_side_effects", "Side effects")),
    )
    await harness.settle()
    (received,) = harness.bot.received
    assert received.text == "/ask_side_effects"
    assert received.metadata["whatsapp"]["reply_title"] == "Side effects"


async def test_status_updates_are_acknowledged_and_ignored(harness: Harness) -> None:
    payload = p.webhook(p.change(statuses=[p.status_update(p.new_wa_id(), "read")]))
    response = await post_signed(harness.client, payload)
    assert response.status_code == 200
    await harness.settle()
    assert harness.bot.received == [] and harness.graph.requests == []


@pytest.mark.parametrize("media_type", ["image", "audio", "location", "sticker", "reaction"])
async def test_media_gets_the_polite_text_only_reply(harness: Harness, media_type: str) -> None:
    sender = p.new_wa_id()
    response = await post_signed(
        harness.client, p.messages_webhook(p.media_message(sender, media_type))
    )
    assert response.status_code == 200
    await harness.settle()
    assert harness.bot.received == []
    (sent,) = harness.graph.sent_to(sender)
    assert sent.type == "text" and sent.text == TEXT_ONLY_REPLY
    assert "I can only read text messages" in sent.text


# ------------------------------------------------------------------- deduplication


async def test_redelivered_message_is_processed_once(harness: Harness) -> None:
    sender = p.new_wa_id()
    payload = p.messages_webhook(p.text_message(sender, "hello", message_id="wamid.same"))
    first = await post_signed(harness.client, payload)
    second = await post_signed(harness.client, payload)
    assert first.status_code == second.status_code == 200
    assert second.json()["messages"] == 0
    await harness.settle()
    assert [m.text for m in harness.bot.received] == ["hello"]
    assert len(harness.graph.sent_to(sender)) == 1


async def test_duplicate_inside_one_payload_is_processed_once(harness: Harness) -> None:
    sender = p.new_wa_id()
    message = p.text_message(sender, "hello")
    await post_signed(
        harness.client, p.webhook(p.change([message]), p.change([message]), entries=2)
    )
    await harness.settle()
    assert len(harness.bot.received) == 1


async def test_redelivered_media_is_answered_once(harness: Harness) -> None:
    sender = p.new_wa_id()
    payload = p.messages_webhook(p.media_message(sender, "image"))
    await post_signed(harness.client, payload)
    await post_signed(harness.client, payload)
    await harness.settle()
    assert len(harness.graph.sent_to(sender)) == 1


# ----------------------------------------------------------------- quick response


async def test_webhook_answers_before_the_bot_is_done(graph: FakeGraphAPI) -> None:
    config = make_config(graph)
    channel = WhatsAppInput(config, client=fast_client(config))
    bot = FakeBot(delay=1.5)
    async with serve(channel, bot) as client:
        started = time.monotonic()
        response = await post_signed(
            client, p.messages_webhook(p.text_message(p.new_wa_id(), "hi"))
        )
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert elapsed < 1.0
        assert bot.received == []
        await channel.drain()
        assert len(bot.received) == 1


async def test_pending_answers_finish_on_shutdown(graph: FakeGraphAPI) -> None:
    config = make_config(graph)
    channel = WhatsAppInput(config, client=fast_client(config))
    bot = FakeBot(delay=0.3)
    sender = p.new_wa_id()
    async with serve(channel, bot) as client:
        await post_signed(client, p.messages_webhook(p.text_message(sender, "hi")))
    # Leaving serve() ran the server-stop listener, which waits for the answer.
    assert len(bot.received) == 1
    assert len(graph.sent_to(sender)) == 1


# ---------------------------------------------------------------------- fail closed


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", [WEBHOOK, "/webhooks/whatsapp/"])
async def test_without_app_secret_every_request_is_503(method: str, path: str, caplog) -> None:
    caplog.set_level(logging.ERROR)
    config = make_config(app_secret=None)
    channel = WhatsAppInput(config)
    bot = FakeBot()
    async with serve(channel, bot) as client:
        body, headers = p.signed(p.messages_webhook(p.text_message(p.new_wa_id(), "hi")), "")
        params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}
        if method == "GET":
            response = await client.get(path, params=params)
        else:
            response = await client.post(path, content=body, headers=headers)
        await asyncio.sleep(0.05)
    assert response.status_code == 503
    error = response.json()
    assert "WHATSAPP_APP_SECRET" in error["error"] and "disabled" in error["error"]
    assert error["missing"] == ["WHATSAPP_APP_SECRET"]
    assert bot.received == []
    assert channel.get_output_channel() is None
    startup_errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("WHATSAPP_APP_SECRET is not set" in r.getMessage() for r in startup_errors)


def test_nothing_set_names_every_missing_variable(monkeypatch) -> None:
    for name in ("SECRET", "VERIFY_TOKEN", "ACCESS_TOKEN", "PHONE_NUMBER_ID", "API_BASE_URL"):
        monkeypatch.delenv(f"WHATSAPP_{name}", raising=False)
    monkeypatch.delenv("WHATSAPP_APP_SECRET", raising=False)
    channel = WhatsAppInput.from_credentials(None)
    assert channel.disabled_reason is not None
    for name in (
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
        "WHATSAPP_ACCESS_TOKEN",
        "WHATSAPP_PHONE_NUMBER_ID",
    ):
        assert name in channel.disabled_reason
    assert channel.config.api_base_url == DEFAULT_API_BASE_URL


def test_config_from_env_and_credentials_override(monkeypatch) -> None:
    monkeypatch.setenv("WHATSAPP_APP_SECRET", "env-secret")
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", "env-verify")
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "env-token")
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", "111")
    monkeypatch.setenv("WHATSAPP_API_BASE_URL", "http://127.0.0.1:1234/v22.0/")
    channel = WhatsAppInput.from_credentials({"verify_token": "yml-verify", "access_token": ""})
    assert channel.disabled_reason is None
    assert channel.config == WhatsAppConfig(
        app_secret="env-secret",
        verify_token="yml-verify",
        access_token="env-token",
        phone_number_id="111",
        api_base_url="http://127.0.0.1:1234/v22.0",
    )
    assert channel.config.messages_url() == "http://127.0.0.1:1234/v22.0/111/messages"


def test_bad_base_url_disables_the_channel() -> None:
    config = make_config(api_base_url="graph.facebook.com")
    channel = WhatsAppInput(config)
    assert channel.disabled_reason is not None
    assert "WHATSAPP_API_BASE_URL" in channel.disabled_reason


async def test_mounted_by_rasa_at_webhooks_whatsapp(graph: FakeGraphAPI) -> None:
    from rasa.core.channels.channel import register

    class Agent:
        def __init__(self) -> None:
            self.bot = FakeBot()

        async def handle_message(self, message) -> None:
            await self.bot(message)

    config = make_config(graph)
    channel = WhatsAppInput(config, client=fast_client(config))
    app = new_app()
    app.ctx.agent = Agent()
    register([channel], app, route="/webhooks/")  # what `rasa run` does
    sender = p.new_wa_id()
    async with serve_app(app) as client:
        response = await post_signed(client, p.messages_webhook(p.text_message(sender, "hi")))
        assert response.status_code == 200
        await channel.drain()
    assert [m.text for m in app.ctx.agent.bot.received] == ["hi"]
    assert len(graph.sent_to(sender)) == 1


def test_rasa_loads_the_connector_by_class_path(monkeypatch) -> None:
    from rasa.core.run import _create_single_channel

    monkeypatch.delenv("WHATSAPP_APP_SECRET", raising=False)
    channel = _create_single_channel("bot.channels.whatsapp.WhatsAppInput", None)
    assert isinstance(channel, WhatsAppInput)
    assert channel.url_prefix() == "whatsapp"


# ------------------------------------------------------------------------- privacy


async def test_logs_never_carry_patient_text_or_number(graph: FakeGraphAPI, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    config = make_config(graph)
    channel = WhatsAppInput(config, client=fast_client(config, max_attempts=2))
    bot = FakeBot(fail=True)
    sender = "15557654321"
    secret_text = "I am pregnant and on warfarin"
    async with serve(channel, bot) as client:
        # The bot fails; then Graph fails for the text-only reply; then a redelivery;
        # then a message for another number; then bad signatures.
        payload = p.messages_webhook(p.text_message(sender, secret_text, message_id="wamid.pii"))
        await post_signed(client, payload)
        await post_signed(client, payload)
        await channel.drain()
        graph.fail_next(5, status=500)
        await post_signed(client, p.messages_webhook(p.media_message(sender, "audio")))
        await channel.drain()
        other = p.messages_webhook(p.text_message(sender, secret_text), phone_number_id="999")
        await post_signed(client, other)
        await post_signed(client, payload, secret="wrong-secret")
        await client.get(WEBHOOK, params={"hub.mode": "subscribe", "hub.verify_token": sender})
    await channel.drain()

    assert len(bot.received) == 1  # the redelivery was ignored
    # Our loggers only: the test's own HTTP client logs the URLs it calls.
    loud = [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith("bot.")]
    messages = [r.getMessage() for r in loud]
    assert any("failed to answer" in m for m in messages)
    assert any("giving up" in m for m in messages)
    assert any("redelivered" in m for m in messages)
    for record, message in zip(loud, messages, strict=True):
        text = message + (record.exc_text or "")
        assert sender not in text, record.name
        assert "7654321" not in text, record.name
        assert secret_text not in text, record.name
    assert channel.sender_ref(sender) in " ".join(messages)
    assert channel.sender_ref(sender) != channel.sender_ref("15550000000")


async def test_dedup_memory_can_be_injected(graph: FakeGraphAPI) -> None:
    from bot.channels.whatsapp_webhook import SeenMessageIds

    seen = SeenMessageIds(max_size=10)
    config = make_config(graph)
    channel = WhatsAppInput(config, client=fast_client(config), seen_ids=seen)
    assert channel.seen_ids is seen
    async with serve(channel, FakeBot()) as client:
        await post_signed(client, p.messages_webhook(p.text_message(p.new_wa_id(), "hi")))
        await channel.drain()
    assert len(seen) == 1


async def test_conversation_id_is_keyed_and_not_the_number(harness: Harness) -> None:
    number = "447700900123"
    key_a, key_b = b"a" * 40, b"b" * 40
    assert whatsapp_conversation_id(number, key_a) == whatsapp_conversation_id(
        "+44 7700 900123", key_a
    )
    assert whatsapp_conversation_id(number, key_a) != whatsapp_conversation_id(number, key_b)
    assert number not in whatsapp_conversation_id(number, key_a)


async def test_unbound_output_never_sends_to_a_conversation_hash(harness: Harness) -> None:
    output = harness.channel.get_output_channel()
    await output.send_text_message(whatsapp_conversation_id("447700900123"), "hello")
    assert not harness.graph.requests
