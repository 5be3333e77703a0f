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


CLINIC_BASE = "name: X\nphone: '1'\nemergency_number: '112'\nemail: a@example.invalid\naddress: Y\n"


def test_opening_hours_are_read_in_the_clinic_time_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clinic.yml"
    path.write_text(
        CLINIC_BASE + "opening_hours:\n  mon: ['09:00-18:00']\n  tue: ['09:00-18:00']\n"
    )
    monkeypatch.setenv("MESO_CLINIC_CONFIG", str(path))
    monkeypatch.setenv("MESO_STAFF_TIMEZONE", "Europe/Madrid")
    clinic = load_settings().clinic
    assert clinic.opening_hours is not None
    assert clinic.opening_hours.timezone == "Europe/Madrid"
    # The {clinic_hours} text patients see is written from the structure.
    assert clinic.hours == "Monday and Tuesday, 09:00–18:00 (Europe/Madrid)"
    assert clinic.template_values()["clinic_hours"] == clinic.hours


def test_without_opening_hours_the_free_text_stays(tmp_path: Path) -> None:
    path = tmp_path / "clinic.yml"
    path.write_text(CLINIC_BASE + "hours: ask at the desk\n")
    clinic = load_clinic_config(path)
    assert clinic.opening_hours is None
    assert clinic.hours == "ask at the desk"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("opening_hours:\n  mon: ['18:00-09:00']\n", "opening_hours: '18:00-09:00': the end"),
        ("opening_hours:\n  mon: ['9am-5pm']\n", "opening_hours: '9am-5pm': expected a range"),
        ("opening_hours:\n  someday: ['09:00-17:00']\n", "not a day of the week"),
        ("hours: Mon-Fri\nopening_hours:\n  mon: ['09:00-17:00']\n", "not both"),
    ],
)
def test_malformed_opening_hours_name_the_file_and_the_value(
    tmp_path: Path, extra: str, message: str
) -> None:
    path = tmp_path / "clinic.yml"
    path.write_text(CLINIC_BASE + extra)
    with pytest.raises(ConfigError, match=message) as error:
        load_clinic_config(path)
    assert str(path) in str(error.value)


def test_takeover_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESO_TAKEOVER_IDLE_SECONDS", "0")
    with pytest.raises(ConfigError, match="MESO_TAKEOVER_IDLE_SECONDS"):
        load_settings()
    monkeypatch.setenv("MESO_TAKEOVER_IDLE_SECONDS", "5")
    monkeypatch.setenv("MESO_TAKEOVER_TITLES", "nurse, aesthetic doctor ,")
    monkeypatch.setenv("MESO_RASA_PORT", "5123")
    monkeypatch.delenv("MESO_RASA_API_URL", raising=False)
    settings = load_settings()
    assert settings.takeover_idle_seconds == 5
    assert settings.takeover_titles == ("nurse", "aesthetic doctor")
    assert settings.takeover_rasa_url == "http://127.0.0.1:5123"
    monkeypatch.setenv("MESO_RASA_API_URL", "http://rasa:5005/")
    monkeypatch.delenv("MESO_TAKEOVER_TITLES")
    settings = load_settings()
    assert settings.takeover_rasa_url == "http://rasa:5005"
    assert "nurse" in settings.takeover_titles


def test_redis_url_from_the_redis_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESO_REDIS_HOST", raising=False)
    assert load_settings().redis_url(3) is None
    monkeypatch.setenv("MESO_REDIS_HOST", "redis")
    monkeypatch.setenv("MESO_REDIS_PORT", "6380")
    monkeypatch.setenv("MESO_REDIS_PASSWORD", "p@ss/word")
    assert load_settings().redis_url(3) == "redis://:p%40ss%2Fword@redis:6380/3"
