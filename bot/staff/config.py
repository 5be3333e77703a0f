"""Staff-app settings: the project settings plus the few knobs only this app reads.

Everything is read once, in `StaffConfig.from_settings`, so routes and tests receive
one immutable object instead of reading the environment themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

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
        return cls(
            app_db_url=settings.app_db_url,
            tracker_db_url=settings.tracker_db_url,
            project_root=settings.project_root,
            secret_key=check_secret_key(settings)
            if settings.staff_secret_key
            else load_or_create_secret(settings.var_dir),
            facts_db_url=settings.facts_db_url,
            idle_minutes=settings.staff_idle_minutes,
            secure_cookies=settings.staff_secure_cookies,
            nlu_threshold=settings.staff_nlu_threshold,
            retention_days=settings.clinic.retention_days,
            timezone=settings.staff_timezone,
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
