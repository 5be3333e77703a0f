"""The Graph API client and the output channel, against the fake Graph API."""

from __future__ import annotations

import logging

import pytest

from bot.channels.whatsapp import WhatsAppOutput
from bot.channels.whatsapp_api import GraphAPIClient, _retry_after_seconds, describe_graph_error
from bot.channels.whatsapp_messages import INTERACTIVE_BODY_LIMIT, TEXT_LIMIT, text_payload
from tests.channels.conftest import ACCESS_TOKEN, fast_client, make_config
from tests.channels.payloads import PHONE_NUMBER_ID, new_wa_id
from tests.fakes.graph_api import FakeGraphAPI


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def client_for(graph: FakeGraphAPI, **kwargs) -> tuple[GraphAPIClient, RecordingSleep]:
    sleep = RecordingSleep()
    config = make_config(graph)
    return GraphAPIClient(config.messages_url(), ACCESS_TOKEN, sleep=sleep, **kwargs), sleep


async def test_posts_to_phone_number_messages_with_bearer_token(graph: FakeGraphAPI) -> None:
    client, _ = client_for(graph)
    to = new_wa_id()
    try:
        assert await client.send(text_payload(to, "hello"))
    finally:
        await client.close()
    (request,) = graph.requests
    assert request.path == f"/v22.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.json["messaging_product"] == "whatsapp"
    assert request.json == text_payload(to, "hello")


async def test_retries_on_500_then_succeeds(graph: FakeGraphAPI) -> None:
    client, sleep = client_for(graph)
    graph.fail_next(2, status=500)
    try:
        assert await client.send(text_payload(new_wa_id(), "hi"))
    finally:
        await client.close()
    assert [r.status for r in graph.requests] == [500, 500, 200]
    assert len(sleep.delays) == 2
    assert sleep.delays[1] > sleep.delays[0]  # exponential backoff


async def test_retries_on_429_and_respects_retry_after(graph: FakeGraphAPI) -> None:
    client, sleep = client_for(graph)
    graph.fail_next(1, status=429, retry_after=7)
    try:
        assert await client.send(text_payload(new_wa_id(), "hi"))
    finally:
        await client.close()
    assert [r.status for r in graph.requests] == [429, 200]
    assert sleep.delays == [7.0]


async def test_retry_after_is_capped(graph: FakeGraphAPI) -> None:
    client, sleep = client_for(graph, retry_after_max_seconds=5)
    graph.fail_next(1, status=429, retry_after=3600)
    try:
        assert await client.send(text_payload(new_wa_id(), "hi"))
    finally:
        await client.close()
    assert sleep.delays == [5]


async def test_gives_up_after_bounded_attempts(graph: FakeGraphAPI, caplog) -> None:
    client, sleep = client_for(graph, max_attempts=3)
    graph.fail_next(10, status=503)
    caplog.set_level(logging.WARNING)
    try:
        assert not await client.send(text_payload(new_wa_id(), "hi"))
    finally:
        await client.close()
    assert len(graph.requests) == 3
    assert len(sleep.delays) == 2
    assert "giving up" in caplog.text and "HTTP 503" in caplog.text


async def test_client_errors_are_not_retried(graph: FakeGraphAPI, caplog) -> None:
    config = make_config(graph)
    client = GraphAPIClient(config.messages_url(), "wrong-token", sleep=RecordingSleep())
    caplog.set_level(logging.ERROR)
    try:
        assert not await client.send(text_payload(new_wa_id(), "hi"))
    finally:
        await client.close()
    assert [r.status for r in graph.requests] == [401]
    assert "HTTP 401" in caplog.text and "code=190" in caplog.text
    assert "WHATSAPP_ACCESS_TOKEN" in caplog.text


async def test_network_errors_are_retried_then_reported(caplog) -> None:
    # Port 9 (discard) on loopback is closed: connection refused on every attempt.
    sleep = RecordingSleep()
    client = GraphAPIClient(
        f"http://127.0.0.1:9/v22.0/{PHONE_NUMBER_ID}/messages",
        ACCESS_TOKEN,
        sleep=sleep,
        max_attempts=2,
    )
    caplog.set_level(logging.WARNING)
    try:
        assert not await client.send(text_payload(new_wa_id(), "hi"))
    finally:
        await client.close()
    assert len(sleep.delays) == 1
    assert "network error" in caplog.text


def test_retry_after_parsing() -> None:
    assert _retry_after_seconds("12") == 12
    assert _retry_after_seconds(None) is None
    assert _retry_after_seconds("soon") is None
    assert _retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past


def test_graph_error_description_scrubs_numbers() -> None:
    body = {"error": {"code": 131030, "message": "Recipient +1 555 123 4567 not allowed"}}
    described = describe_graph_error(body)
    assert "code=131030" in described
    assert "555" not in described and "[number]" in described
    assert describe_graph_error("oops") == "no Graph error details"


# ---------------------------------------------------------------- output channel


@pytest.fixture
async def output(graph: FakeGraphAPI):
    client = fast_client(make_config(graph))
    yield WhatsAppOutput(client)
    await client.close()


async def test_5000_character_answer_is_split(graph: FakeGraphAPI, output: WhatsAppOutput) -> None:
    to = new_wa_id()
    paragraph = ("Each session is short and most people return to work the same day. " * 7).strip()
    text = "\n\n".join([paragraph] * 11)[:4950].rstrip() + ".\nSources: What Is Mesotherapy?"
    assert len(text) > 4096
    await output.send_response(to, {"text": text})
    sent = graph.sent_to(to)
    assert len(sent) == 2
    assert all(r.type == "text" and len(r.text) <= TEXT_LIMIT for r in sent)
    assert sent[-1].text.endswith("_Sources: What Is Mesotherapy?_")
    joined = " ".join(r.text for r in sent)
    assert " ".join(joined.split()).startswith(" ".join(paragraph.split()))


async def test_answer_with_buttons_is_one_interactive_message(
    graph: FakeGraphAPI, output: WhatsAppOutput
) -> None:
    to = new_wa_id()
    message = {
        "text": "Most people need about 10 sessions.\nSources: What Is Mesotherapy?",
        "buttons": [
            {"title": "How often are sessions?", "payload": "/ask_course_schedule"},
            {"title": "Side effects", "payload": "/ask_side_effects"},
        ],
        "elements": None,
        "attachment": None,
        "image": None,
        "custom": None,
        "utter_action": "utter_whatever",
    }
    await output.send_response(to, message)
    (sent,) = graph.sent_to(to)
    assert sent.type == "interactive"
    assert sent.text == "Most people need about 10 sessions.\n_Sources: What Is Mesotherapy?_"
    assert sent.reply_ids == ["/ask_course_schedule", "/ask_side_effects"]


async def test_long_text_with_buttons_sends_text_then_choices(
    graph: FakeGraphAPI, output: WhatsAppOutput
) -> None:
    to = new_wa_id()
    text = "A sentence about aftercare. " * 60  # > 1024 characters
    buttons = [{"title": f"Option {i}", "payload": f"/ask_{i}"} for i in range(5)]
    await output.send_text_with_buttons(to, text, buttons)
    first, second = graph.sent_to(to)
    assert first.type == "text" and len(first.text) > INTERACTIVE_BODY_LIMIT
    assert second.type == "interactive" and second.json["interactive"]["type"] == "list"
    assert len(second.text) <= INTERACTIVE_BODY_LIMIT


async def test_answer_meta_custom_message_is_not_sent(
    graph: FakeGraphAPI, output: WhatsAppOutput, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.channels.whatsapp")
    custom = {"data": {"kind": "answer_meta", "topic": "pain", "fact_ids": [], "sources": []}}
    await output.send_response(new_wa_id(), {"custom": custom})
    assert graph.requests == []
    assert "answer_meta" in caplog.text


async def test_image_is_sent_as_image_message(graph: FakeGraphAPI, output: WhatsAppOutput) -> None:
    to = new_wa_id()
    await output.send_response(to, {"image": "https://clinic.example/map.png"})
    (sent,) = graph.sent_to(to)
    assert sent.json["image"] == {"link": "https://clinic.example/map.png"}


async def test_output_retries_through_failures(graph: FakeGraphAPI, output: WhatsAppOutput) -> None:
    to = new_wa_id()
    graph.fail_next(1, status=500)
    graph.fail_next(1, status=429, retry_after=0)
    await output.send_text_message(to, "Hello")
    assert [r.status for r in graph.requests] == [500, 429, 200]
    assert graph.sent_to(to)[0].text == "Hello"
