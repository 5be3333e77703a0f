"""WhatsApp goes through the same input guard as REST and socket.io: the text is
cleaned, and each conversation is rate limited (MESO_RATE_LIMIT_SENDER)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.channels.guarded import RATE_LIMITED_REPLY
from bot.channels.whatsapp import WhatsAppInput
from bot.config import get_settings
from tests.channels import payloads as p
from tests.channels.conftest import FakeBot, Harness, fast_client, make_config, serve
from tests.channels.test_whatsapp_channel import post_signed
from tests.fakes.graph_api import FakeGraphAPI


@pytest.fixture
async def limited(graph: FakeGraphAPI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    """A channel allowing two messages per conversation per minute."""
    monkeypatch.setenv("MESO_RATE_LIMIT_SENDER", "2/60")
    get_settings.cache_clear()
    config = make_config(graph)
    channel = WhatsAppInput(config, client=fast_client(config))
    bot = FakeBot()
    async with serve(channel, bot) as client:
        yield Harness(client, channel, bot, graph)


async def test_control_characters_are_removed_as_on_the_other_channels(harness: Harness) -> None:
    sender = p.new_wa_id()
    blank = p.text_message(sender, "\x00\x07 \x1f")
    await post_signed(harness.client, p.messages_webhook(p.text_message(sender, "sau\x00na?\x07")))
    await post_signed(harness.client, p.messages_webhook(blank))
    await harness.settle()
    assert [m.text for m in harness.bot.received] == ["sauna?"]


async def test_a_flood_from_one_number_is_limited_with_one_notice(limited: Harness) -> None:
    sender, other = p.new_wa_id(), p.new_wa_id()
    flood = [p.text_message(sender, f"question {n}") for n in range(5)]
    await post_signed(limited.client, p.messages_webhook(*flood))
    await post_signed(limited.client, p.messages_webhook(p.text_message(other, "hello")))
    await limited.settle()

    assert [m.text for m in limited.bot.received if "question" in m.text] == [
        "question 0",
        "question 1",
    ]
    assert any(m.text == "hello" for m in limited.bot.received)  # others unaffected
    notices = [s for s in limited.graph.sent_to(sender) if s.text == RATE_LIMITED_REPLY]
    assert len(notices) == 1
