"""The guarded REST channel through a real Sanic app: every route is guarded, the client
can't pick the input channel or another channel's conversation, and production locks it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.channels.guarded import GuardedRestInput
from bot.config import get_settings
from tests.channels.conftest import FakeBot, new_app, serve_app

TOKEN = "t" * 40


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    monkeypatch.setenv("MESO_VAR_DIR", str(tmp_path))
    for name in ("MESO_PROFILE", "MESO_REST_TOKEN", "MESO_TRUST_PROXY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def rest() -> AsyncIterator[tuple[httpx.AsyncClient, FakeBot]]:
    bot = FakeBot()
    app = new_app()
    app.blueprint(GuardedRestInput().blueprint(bot), url_prefix="/webhooks/rest")
    async with serve_app(app) as client:
        yield client, bot


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/webhooks/rest/webhook/"])
async def test_every_route_to_the_handler_is_validated(rest, path: str) -> None:
    client, bot = rest
    for body in ([1], {"sender": "x", "message": 5}, {"sender": "x" * 500, "message": "hi"}):
        response = await client.post(path, json=body)
        assert response.status_code == 400, (path, body, response.text)
    huge = {"sender": "x", "message": "hi", "metadata": {"x": "y" * 300_000}}
    assert (await client.post(path, json=huge)).status_code == 413
    response = await client.post(path, json={"sender": "a", "message": "he\x00llo"})
    assert response.status_code == 200
    assert [m.text for m in bot.received] == ["hello"]  # control characters stripped


async def test_trailing_slash_shares_the_rate_limit(rest, monkeypatch: pytest.MonkeyPatch) -> None:
    client, _bot = rest
    statuses = [
        (
            await client.post(
                "/webhooks/rest/webhook" + ("/" if i % 2 else ""),
                json={"sender": "flood", "message": f"q{i}"},
            )
        ).status_code
        for i in range(40)
    ]
    assert statuses.count(429) == 10  # 30 per minute per sender, whichever path


async def test_input_channel_is_never_taken_from_the_client(rest) -> None:
    client, bot = rest
    body = {"sender": "p1", "message": "hi", "input_channel": "whatsapp"}
    assert (await client.post("/webhooks/rest/webhook", json=body)).status_code == 200
    assert bot.received[0].input_channel == "rest"


@pytest.mark.parametrize("sender", ["wa:abc", "WA:abc", "web:0123", " wa:x"])
async def test_other_channels_conversations_cannot_be_addressed(rest, sender: str) -> None:
    client, bot = rest
    response = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "hi"})
    assert response.status_code == 400 and "other channels" in response.json()["error"]
    assert not bot.received


async def test_production_turns_rest_off_unless_a_token_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MESO_PROFILE", "production")
    get_settings.cache_clear()
    bot = FakeBot()
    app = new_app()
    app.blueprint(GuardedRestInput().blueprint(bot), url_prefix="/webhooks/rest")
    body = {"sender": "p", "message": "hi"}
    async with serve_app(app) as client:
        assert (await client.post("/webhooks/rest/webhook", json=body)).status_code == 403
        monkeypatch.setenv("MESO_REST_TOKEN", TOKEN)
        get_settings.cache_clear()
        assert (await client.post("/webhooks/rest/webhook/", json=body)).status_code == 401
        wrong = {"Authorization": "Bearer " + "u" * 40}
        response = await client.post("/webhooks/rest/webhook", json=body, headers=wrong)
        assert response.status_code == 401
        right = {"Authorization": f"Bearer {TOKEN}"}
        response = await client.post("/webhooks/rest/webhook", json=body, headers=right)
        assert response.status_code == 200
    assert len(bot.received) == 1


def test_production_needs_a_shared_conversation_id_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.channels.conversation_ids import conversation_key
    from bot.config import ConfigError

    monkeypatch.setenv("MESO_PROFILE", "production")
    monkeypatch.delenv("MESO_CONVERSATION_ID_KEY", raising=False)
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="MESO_CONVERSATION_ID_KEY"):
        conversation_key()
    monkeypatch.setenv("MESO_CONVERSATION_ID_KEY", "short")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="at least 32"):
        conversation_key()


def test_without_a_key_one_is_generated_once_in_var(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.channels.conversation_ids import conversation_key

    monkeypatch.delenv("MESO_CONVERSATION_ID_KEY", raising=False)
    get_settings.cache_clear()
    first = conversation_key()
    assert (tmp_path / "conversation_id.key").stat().st_mode & 0o777 == 0o600
    assert conversation_key() == first
