"""Staff-app settings: the project settings plus the few knobs only this app reads.

Everything is read once, in `StaffConfig.from_settings`, so routes and tests receive
one immutable object instead of reading the environment themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import (
    MIN_SECRET_CHARS,
    ConfigError,
    Settings,
    get_settings,
    read_or_create_key_file,
)

SECRET_KEY_FILE = "staff_secret.key"
# Values copied from the example env files: whoever read them could forge sessions.
PLACEHOLDER_SECRETS = frozenset(
    {"generate-a-long-random-string", "change-me", "changeme", "secret"}
)


@dataclass(frozen=True)
class StaffConfig:
    app_db_url: str
    tracker_db_url: str
    project_root: Path
    secret_key: str
    facts_db_url: str = ""
    idle_minutes: int = 30
    secure_cookies: bool = False
    nlu_threshold: float = 0.5
    retention_days: int = 90
    timezone: str = "UTC"
    # Off in unit tests, which build their own data with arbitrary timestamps.
    run_retention_task: bool = True

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> StaffConfig:
        settings = settings or get_settings()
        timezone = os.environ.get("MESO_STAFF_TIMEZONE") or "UTC"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"MESO_STAFF_TIMEZONE={timezone!r} is not a known time zone; "
                "use an IANA name such as Europe/London"
            ) from exc
        return cls(
            app_db_url=settings.app_db_url,
            tracker_db_url=settings.tracker_db_url,
            project_root=settings.project_root,
            secret_key=check_secret_key(settings)
            if settings.staff_secret_key
            else load_or_create_secret(settings.var_dir),
            facts_db_url=settings.facts_db_url,
            idle_minutes=_positive_int("MESO_STAFF_IDLE_MINUTES", 30),
            secure_cookies=os.environ.get("MESO_STAFF_SECURE_COOKIES", "") in ("1", "true"),
            nlu_threshold=_fraction("MESO_STAFF_NLU_THRESHOLD", 0.5),
            retention_days=settings.clinic.retention_days,
            timezone=timezone,
        )


def check_secret_key(settings: Settings) -> str:
    """MESO_STAFF_SECRET_KEY, refused when it is a placeholder or too short to resist
    guessing, in every profile: a key that signs staff sessions is never a test value."""
    key = settings.staff_secret_key or ""
    how = (
        "set MESO_STAFF_SECRET_KEY to at least 32 random characters, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, or unset it to "
        "use a key generated in var/"
    )
    if key.strip().lower() in PLACEHOLDER_SECRETS or "change-me" in key.lower():
        raise ConfigError(f"MESO_STAFF_SECRET_KEY is the example placeholder; {how}")
    if len(key) < MIN_SECRET_CHARS:
        raise ConfigError(f"MESO_STAFF_SECRET_KEY is {len(key)} characters; {how}")
    return key


def load_or_create_secret(var_dir: Path) -> str:
    """The key that signs session cookies, generated on first start so `make run` needs none.

    Stored with mode 0600: whoever reads it can forge staff sessions.
    """
    return read_or_create_key_file(
        var_dir / SECRET_KEY_FILE,
        "delete it (a new one is generated) or set MESO_STAFF_SECRET_KEY",
    )


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{name} must be a positive whole number of minutes, got {raw!r}")
    return value


def _fraction(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a number between 0 and 1, got {raw!r}")
    return value
