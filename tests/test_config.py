"""The one config loader: clear errors for missing or malformed settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import PROJECT_ROOT
from bot.config import ConfigError, load_clinic_config, load_settings


def test_default_clinic_config_is_placeholder_only() -> None:
    clinic = load_clinic_config(PROJECT_ROOT / "clinic.yml")
    assert "placeholder" in clinic.name.lower()
    assert "placeholder" in clinic.phone.lower()
    assert "placeholder" in clinic.hours.lower()
    assert clinic.website_origins  # the widget page must be allowed by default


def test_missing_clinic_config_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MESO_CLINIC_CONFIG"):
        load_clinic_config(tmp_path / "nope.yml")


def test_missing_clinic_values_are_named(tmp_path: Path) -> None:
    path = tmp_path / "clinic.yml"
    path.write_text("name: X\nphone: ''\n")
    with pytest.raises(ConfigError, match="phone, emergency_number"):
        load_clinic_config(path)


def test_malformed_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "clinic.yml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=str(path)):
        load_clinic_config(path)


def test_numeric_env_vars_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESO_ACTION_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="MESO_ACTION_TIMEOUT must be a number"):
        load_settings()


def test_store_urls_come_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESO_APP_DB_URL", "postgresql://u@localhost/meso")
    assert load_settings().app_db_url == "postgresql://u@localhost/meso"
    monkeypatch.delenv("MESO_APP_DB_URL")
    assert load_settings().app_db_url.endswith("/var/meso.db")
