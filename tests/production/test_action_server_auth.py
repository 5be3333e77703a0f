"""The action server binds MESO_BIND_HOST, needs the shared token in production, and
never echoes a request (a whole tracker) in an error."""

from __future__ import annotations

import argparse
import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot import serve
from bot.config import get_settings
from tests.channels.conftest import serve_app

TOKEN = "a" * 48


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("MESO_VAR_DIR", str(tmp_path))
    for name in (
        "MESO_PROFILE",
        "MESO_ACTION_SERVER_TOKEN",
        "MESO_ENDPOINTS",
        "MESO_REDIS_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _start_actions(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Run `python -m bot serve actions` up to the point where it listens; record how."""
    seen: dict[str, object] = {}

    class FakeApp:
        def run(self, host: str, port: int, **kwargs: object) -> None:
            seen.update(host=host, port=port)

    monkeypatch.setattr(serve, "ensure_port_free", lambda service: None)
    monkeypatch.setattr(serve, "fact_base_problem", lambda: None)
    monkeypatch.setattr(serve, "action_server_app", lambda token: FakeApp())
    monkeypatch.setattr(serve.os, "execv", lambda path, argv: seen.update(argv=argv))
    monkeypatch.setattr(serve.os, "chdir", lambda path: None)
    seen["code"] = serve._run(argparse.Namespace(service="actions"))
    return seen


def test_action_server_binds_the_configured_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESO_BIND_HOST", "127.0.0.1")
    seen = _start_actions(monkeypatch)
    assert seen.get("host") == "127.0.0.1", seen  # rasa_sdk's own default is 0.0.0.0


def test_production_refuses_to_start_the_action_server_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MESO_PROFILE", "production")
    get_settings.cache_clear()
    seen = _start_actions(monkeypatch)
    assert seen["code"] == 1 and "host" not in seen and "argv" not in seen
    assert "MESO_ACTION_SERVER_TOKEN" in capsys.readouterr().err


async def test_every_call_but_health_needs_the_token() -> None:
    app = serve.action_server_app(TOKEN)
    basic = base64.b64encode(f"rasa:{TOKEN}".encode()).decode()
    async with serve_app(app) as client:
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/actions")).status_code == 401
        assert (await client.post("/webhook", json={"next_action": "x"})).status_code == 401
        wrong = {serve.ACTION_TOKEN_HEADER: "b" * 48}
        assert (await client.get("/actions", headers=wrong)).status_code == 401
        for headers in (
            {serve.ACTION_TOKEN_HEADER: TOKEN},
            {"Authorization": f"Bearer {TOKEN}"},
            {"Authorization": f"Basic {basic}"},
        ):
            response = await client.get("/actions", headers=headers)
            assert response.status_code == 200, headers
            assert {"name": "action_submit_handoff"} in response.json()


async def test_errors_do_not_echo_the_tracker() -> None:
    app = serve.action_server_app(None)
    call = {"next_action": "action_submit_handoff", "tracker": "my phone is 07700 900123"}
    async with serve_app(app) as client:
        response = await client.post("/webhook", json=call)
    assert response.status_code == 500
    assert "07700" not in response.text


def test_rasa_gets_the_token_header_as_a_reference(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "endpoints.yml"
    source.write_text("action_endpoint:\n  url: ${MESO_ACTION_ENDPOINT_URL}\n")
    monkeypatch.setenv("MESO_ENDPOINTS", str(source))
    assert serve.endpoints_for_rasa() == str(source)  # no token: the file as it is
    monkeypatch.setenv("MESO_ACTION_SERVER_TOKEN", TOKEN)
    get_settings.cache_clear()
    generated = Path(serve.endpoints_for_rasa())
    assert TOKEN not in generated.read_text()
    action = yaml.safe_load(generated.read_text())["action_endpoint"]
    assert action == {
        "url": "${MESO_ACTION_ENDPOINT_URL}",
        "headers": {serve.ACTION_TOKEN_HEADER: "${MESO_ACTION_SERVER_TOKEN}"},
    }


def test_rasa_gets_the_redis_password_as_a_reference(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "endpoints.yml"
    source.write_text(
        "action_endpoint:\n  url: http://actions/webhook\n"
        "lock_store:\n  type: redis\n  url: ${MESO_REDIS_HOST}\n"
    )
    monkeypatch.setenv("MESO_ENDPOINTS", str(source))
    monkeypatch.setenv("MESO_REDIS_PASSWORD", "p" * 40)
    get_settings.cache_clear()
    generated = yaml.safe_load(Path(serve.endpoints_for_rasa()).read_text())
    assert generated["lock_store"]["password"] == "${MESO_REDIS_PASSWORD}"
    assert "headers" not in generated["action_endpoint"]
