"""Fixtures for the channel unit tests: a real Sanic app with the WhatsApp blueprint,
driven in-process through ASGI, a fake bot collecting UserMessages, and a FakeGraphAPI.

sanic-testing (behind Sanic's ``app.test_client``) is not installed, so requests go
through httpx's ASGI transport after the ASGI lifespan startup has run.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.whatsapp import WhatsAppInput
from bot.channels.whatsapp_api import GraphAPIClient
from bot.channels.whatsapp_config import WhatsAppConfig
from tests.channels.payloads import PHONE_NUMBER_ID
from tests.fakes.graph_api import FakeGraphAPI

APP_SECRET = "unit-app-secret"
VERIFY_TOKEN = "unit-verify-token"
ACCESS_TOKEN = "unit-access-token"
WEBHOOK = "/webhooks/whatsapp/webhook"

# What sanic-testing does: lets Sanic start many apps in one process (its start-up code
# rewriting otherwise fails from the second app on) and reuse app names.
Sanic.test_mode = True


async def _no_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


@dataclass
class FakeBot:
    """Stands in for Rasa's agent: records messages and answers through the channel."""

    received: list[UserMessage] = field(default_factory=list)
    reply: bool = True
    delay: float = 0.0
    fail: bool = False

    async def __call__(self, message: UserMessage) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.received.append(message)
        if self.fail:
            raise RuntimeError(f"boom while handling {message.text!r} from {message.sender_id}")
        if self.reply:
            await message.output_channel.send_response(
                message.sender_id,
                {
                    "text": f"Answer to {message.text}\nSources: Test article",
                    "buttons": [{"title": "Side effects", "payload": "/ask_side_effects"}],
                },
            )


@dataclass
class Harness:
    client: httpx.AsyncClient
    channel: WhatsAppInput
    bot: FakeBot
    graph: FakeGraphAPI

    async def settle(self) -> None:
        """Wait until the background tasks answering messages are done."""
        await self.channel.drain(timeout=10)


CONVERSATION_KEY = "unit-conversation-id-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def conversation_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[bytes]:
    """A fixed conversation-id key, so no test writes one into the project's var/."""
    from bot.config import get_settings

    monkeypatch.setenv("MESO_CONVERSATION_ID_KEY", CONVERSATION_KEY)
    get_settings.cache_clear()
    yield CONVERSATION_KEY.encode()
    get_settings.cache_clear()


@pytest.fixture
def graph() -> Iterator[FakeGraphAPI]:
    with FakeGraphAPI(access_token=ACCESS_TOKEN) as fake:
        yield fake


def make_config(graph: FakeGraphAPI | None = None, **overrides: Any) -> WhatsAppConfig:
    values: dict[str, Any] = {
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "access_token": ACCESS_TOKEN,
        "phone_number_id": PHONE_NUMBER_ID,
        "api_base_url": graph.url if graph else "http://127.0.0.1:9/v22.0",
    }
    values.update(overrides)
    return WhatsAppConfig(**values)


def fast_client(config: WhatsAppConfig, **kwargs: Any) -> GraphAPIClient:
    """A Graph client that does not really sleep between retries."""
    return GraphAPIClient(
        config.messages_url(), config.access_token or "", sleep=_no_sleep, **kwargs
    )


def new_app() -> Sanic:
    return Sanic(f"whatsapp_test_{uuid.uuid4().hex}", configure_logging=False)


@contextlib.asynccontextmanager
async def serve(channel: WhatsAppInput, bot: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Mount the channel like Rasa does and yield an HTTP client talking to it."""
    app = new_app()
    app.blueprint(channel.blueprint(bot), url_prefix="/webhooks/whatsapp")
    async with serve_app(app) as client:
        yield client


@contextlib.asynccontextmanager
async def serve_app(app: Sanic) -> AsyncIterator[httpx.AsyncClient]:
    """Start ``app`` through the ASGI lifespan protocol; yield a client; stop it."""
    to_app: asyncio.Queue = asyncio.Queue()
    from_app: asyncio.Queue = asyncio.Queue()

    async def lifespan() -> None:
        # Sanic 21.12 wrongly goes on to handle a request after the lifespan protocol.
        with contextlib.suppress(AttributeError):
            await app({"type": "lifespan", "asgi": {"version": "3.0"}}, to_app.get, from_app.put)

    task = asyncio.create_task(lifespan())
    await to_app.put({"type": "lifespan.startup"})
    started = asyncio.create_task(from_app.get())
    await asyncio.wait({task, started}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if not started.done():
        started.cancel()
        if task.done():
            task.result()  # re-raises the startup error
        raise RuntimeError("Sanic ASGI startup did not complete")
    assert started.result()["type"] == "lifespan.startup.complete"
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wa.test") as client:
            yield client
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await from_app.get()
        await task
        Sanic._app_registry.pop(app.name, None)


@pytest.fixture
async def harness(graph: FakeGraphAPI) -> AsyncIterator[Harness]:
    config = make_config(graph)
    channel = WhatsAppInput(config, client=fast_client(config))
    bot = FakeBot()
    async with serve(channel, bot) as client:
        yield Harness(client, channel, bot, graph)
