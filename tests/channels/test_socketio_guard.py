"""The widget's socket.io channel: server-issued session ids bound to one connection,
limits per client address, and the clinic's origins only. Through a real Sanic server
and python-socketio clients, in-process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
import socketio
import yaml
from rasa.core.channels.channel import UserMessage

from bot.channels.conversation_ids import issue_web_session_id, web_session_id_is_valid
from bot.channels.guarded import GuardedSocketIOInput
from bot.config import get_settings
from tests.channels.conftest import new_app

ORIGIN = "https://www.clinic.example"


@pytest.fixture(autouse=True)
def clinic(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:  # type: ignore[no-untyped-def]
    config = tmp_path / "clinic.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "Clinic",
                "phone": "1",
                "emergency_number": "112",
                "email": "a@b.c",
                "hours": "h",
                "address": "a",
                "website_origins": [ORIGIN],
            }
        )
    )
    monkeypatch.setenv("MESO_CLINIC_CONFIG", str(config))
    monkeypatch.setenv("MESO_RATE_LIMIT_IP", "12/60")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class EchoBot:
    def __init__(self) -> None:
        self.received: list[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"echo {message.text}")


@contextlib.asynccontextmanager
async def running() -> AsyncIterator[tuple[str, EchoBot, GuardedSocketIOInput]]:
    channel = GuardedSocketIOInput.from_credentials({"session_persistence": True})
    bot = EchoBot()
    app = new_app()
    app.blueprint(channel.blueprint(bot))
    port = _free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    await server.startup()
    await server.start_serving()
    try:
        yield f"http://127.0.0.1:{port}", bot, channel
    finally:
        server.close()
        await server.wait_closed()


class Client:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.replies: list[str] = []
        self.sessions: list[str] = []
        self.sio.on("bot_uttered", lambda data: self.replies.append(data.get("text")))
        self.sio.on("session_confirm", lambda data: self.sessions.append(data))

    async def start(self, url: str, session_id: object = None, **kwargs: object) -> str:
        await self.sio.connect(url, transports=["websocket"], **kwargs)
        await self.sio.emit("session_request", {"session_id": session_id})
        for _ in range(100):
            if self.sessions:
                return self.sessions[-1]
            await asyncio.sleep(0.02)
        raise AssertionError("no session_confirm")

    async def say(self, text: str, session_id: object) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id})


async def _settle() -> None:
    await asyncio.sleep(0.3)


async def test_a_session_id_the_server_did_not_issue_is_replaced() -> None:
    async with running() as (url, _bot, _channel):
        client = Client()
        for forged in ("victim-session", "web:" + "0" * 32 + ".abc", 12, {"x": 1}):
            given = await client.start(url, forged)
            assert given != forged and web_session_id_is_valid(given)
            await client.sio.disconnect()
            client = Client()


async def test_another_connections_session_gets_none_of_its_replies() -> None:
    async with running() as (url, bot, _channel):
        victim, attacker = Client(), Client()
        session = await victim.start(url)
        stolen = await attacker.start(url, session)  # the id leaked, e.g. over a shoulder
        assert stolen != session
        await attacker.say("I am the patient now", session)  # claims the victim's id
        await victim.say("my real question", session)
        await _settle()
        assert [m.sender_id for m in bot.received] == [stolen, session]
        assert victim.replies == ["echo my real question"]
        assert attacker.replies == ["echo I am the patient now"]
        await victim.sio.disconnect()
        await attacker.sio.disconnect()


async def test_a_reload_resumes_the_session_it_was_given() -> None:
    async with running() as (url, _bot, _channel):
        first = Client()
        session = await first.start(url)
        await first.sio.disconnect()
        await _settle()
        again = Client()
        assert await again.start(url, session) == session
        await again.sio.disconnect()


async def test_new_session_ids_do_not_reset_the_per_address_limit() -> None:
    async with running() as (url, bot, _channel):
        replies = []
        for i in range(8):  # a new session id per client, two messages each
            client = Client()
            session = await client.start(url)
            await client.say(f"q{i}", session)
            await client.say(f"q{i} again", session)
            await _settle()
            replies += client.replies
            await client.sio.disconnect()
        assert len(bot.received) == 12  # 12 per minute per address, whatever the session
        assert "You're sending messages very fast. Please wait a moment." in replies


async def test_origins_outside_the_clinics_are_refused() -> None:
    async with running() as (url, _bot, _channel):
        client = Client()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.sio.connect(
                url, transports=["websocket"], headers={"Origin": "https://evil.example"}
            )
        ok = Client()
        assert await ok.start(url, headers={"Origin": ORIGIN})
        await ok.sio.disconnect()


def test_origin_rule() -> None:
    channel = GuardedSocketIOInput()
    assert channel.origin_allowed({})  # not a browser
    assert channel.origin_allowed({"HTTP_ORIGIN": ORIGIN + "/"})
    assert not channel.origin_allowed({"HTTP_ORIGIN": "https://evil.example"})
    assert not channel.origin_allowed({"HTTP_ORIGIN": "null"})


def test_without_listed_origins_only_the_same_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        type(get_settings()),
        "clinic",
        property(lambda self: type("C", (), {"website_origins": ()})),
    )
    channel = GuardedSocketIOInput()
    assert channel.origin_allowed(
        {"HTTP_ORIGIN": "https://chat.clinic", "HTTP_HOST": "chat.clinic"}
    )
    assert not channel.origin_allowed({"HTTP_ORIGIN": "https://evil.example", "HTTP_HOST": "x"})


async def test_polling_responses_carry_no_cors_header_of_their_own() -> None:
    """Rasa's --cors adds Access-Control-Allow-Origin; a second one breaks browsers."""
    import httpx

    async with running() as (url, _bot, _channel), httpx.AsyncClient() as client:
        response = await client.get(
            f"{url}/socket.io/", params={"EIO": "4", "transport": "polling"},
            headers={"Origin": ORIGIN},
        )  # fmt: skip
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_issued_ids_are_signed() -> None:
    issued = issue_web_session_id()
    assert web_session_id_is_valid(issued)
    assert not web_session_id_is_valid(issued[:-1] + ("0" if issued[-1] != "0" else "1"))
