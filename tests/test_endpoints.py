"""endpoints.yml takes its values from the environment, through Rasa's own reader.

`python -m bot serve rasa` exports bot.config's values (Settings.rasa_environment), so
MESO_ACTIONS_PORT and MESO_TRACKER_DB_URL set in .env reach Rasa.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.utils.endpoints import read_endpoint_config

from bot import PROJECT_ROOT
from bot.config import load_settings

DEV = PROJECT_ROOT / "endpoints.yml"
PRODUCTION = PROJECT_ROOT / "deploy" / "endpoints.production.yml"


@pytest.fixture
def rasa_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A changed action-server port and tracker store, exported as `serve rasa` does."""
    tracker_url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.delenv("MESO_ACTION_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("MESO_ACTIONS_PORT", "6123")
    monkeypatch.setenv("MESO_TRACKER_DB_URL", tracker_url)
    for name, value in load_settings().rasa_environment().items():
        monkeypatch.setenv(name, value)
    return tracker_url


def test_the_action_port_reaches_rasa(rasa_env: str) -> None:
    action = read_endpoint_config(str(DEV), "action_endpoint")
    assert action is not None and action.url == "http://127.0.0.1:6123/webhook"


def test_the_tracker_store_url_reaches_rasa(rasa_env: str, tmp_path: Path) -> None:
    config = read_endpoint_config(str(DEV), "tracker_store")
    store = TrackerStore.create(config)
    assert isinstance(store, SQLTrackerStore)
    assert str(store.engine.url) == rasa_env
    assert (tmp_path / "elsewhere.db").is_file()  # Rasa created its tables there


def test_an_explicit_action_endpoint_url_wins(
    rasa_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESO_ACTION_ENDPOINT_URL", "http://nginx:5055/webhook")  # replicas
    for name, value in load_settings().rasa_environment().items():
        monkeypatch.setenv(name, value)
    action = read_endpoint_config(str(DEV), "action_endpoint")
    assert action is not None and action.url == "http://nginx:5055/webhook"


def test_dev_and_production_endpoints_differ_only_in_values() -> None:
    def shape(node: object) -> object:
        return {key: shape(value) for key, value in node.items()} if isinstance(node, dict) else 0

    dev = yaml.safe_load(DEV.read_text(encoding="utf-8"))
    production = yaml.safe_load(PRODUCTION.read_text(encoding="utf-8"))
    assert dev.keys() == production.keys()
    for section in ("action_endpoint", "tracker_store", "nlg"):
        assert shape(dev[section]) == shape(production[section]), section
    assert dev["tracker_store"] == production["tracker_store"]
    assert dev["action_endpoint"] == production["action_endpoint"]


def test_serve_rasa_env_prints_shell_exports(
    rasa_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.config import get_settings
    from bot.serve import _print_rasa_env

    get_settings.cache_clear()
    try:
        _print_rasa_env(None)  # type: ignore[arg-type]
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "export MESO_ACTION_ENDPOINT_URL=http://127.0.0.1:6123/webhook" in out
    assert f"export MESO_TRACKER_DB_URL={rasa_env}" in out
