"""The one configuration loader: environment variables plus the clinic config file.

Every component (actions, channels, staff app, CLI, tests) reads settings from here,
so a value has exactly one name and one default.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from bot import PROJECT_ROOT


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it and says how to fix it."""


@dataclass(frozen=True)
class ClinicConfig:
    name: str
    phone: str
    emergency_number: str
    email: str
    hours: str
    address: str
    website_origins: tuple[str, ...]
    retention_days: int = 90

    def template_values(self) -> dict[str, str]:
        """Values that domain responses may reference as {clinic_*} placeholders."""
        return {
            "clinic_name": self.name,
            "clinic_phone": self.phone,
            "clinic_emergency_number": self.emergency_number,
            "clinic_email": self.email,
            "clinic_hours": self.hours,
            "clinic_address": self.address,
        }


_CLINIC_REQUIRED = ("name", "phone", "emergency_number", "email", "hours", "address")


def load_clinic_config(path: Path) -> ClinicConfig:
    if not path.is_file():
        raise ConfigError(
            f"Clinic config not found at {path}. Copy clinic.yml from the repository "
            "or set MESO_CLINIC_CONFIG to its path."
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of clinic settings")
    missing = [key for key in _CLINIC_REQUIRED if not str(raw.get(key) or "").strip()]
    if missing:
        raise ConfigError(f"{path}: missing clinic setting(s): {', '.join(missing)}")
    origins = raw.get("website_origins") or []
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise ConfigError(f"{path}: website_origins must be a list of origins")
    try:
        retention_days = int(raw.get("retention_days", 90))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: retention_days must be a whole number of days") from exc
    return ClinicConfig(
        **{key: str(raw[key]).strip() for key in _CLINIC_REQUIRED},
        website_origins=tuple(origins),
        retention_days=retention_days,
    )


# Addresses a reverse proxy may have: loopback and private networks (Docker, Kubernetes).
DEFAULT_TRUSTED_PROXIES = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)
MIN_SECRET_CHARS = 32


def read_or_create_key_file(path: Path, remedy: str) -> str:
    """The secret in ``path``, generated (mode 0600) on first use.

    A file too short to be a key raises ConfigError ending in ``remedy``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="utf-8").strip()
        if len(key) < MIN_SECRET_CHARS:
            raise ConfigError(f"{path} holds no usable key; {remedy}") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class Settings:
    project_root: Path
    var_dir: Path
    facts_db_url: str
    app_db_url: str
    tracker_db_url: str
    sources_dir: Path
    spacy_model_dir: Path
    clinic_config_path: Path
    staff_secret_key: str | None
    max_message_chars: int
    action_timeout_seconds: float
    # Security settings (docs/security.md). Defaults suit `make run` on one machine.
    production: bool = False
    conversation_id_key: str | None = None
    rest_token: str | None = None
    trust_proxy: bool = False
    trusted_proxies: tuple[str, ...] = DEFAULT_TRUSTED_PROXIES
    action_server_token: str | None = None
    redis_host: str | None = None
    redis_port: int = 6379
    redis_password: str | None = None
    redis_dedup_db: int = 2
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def clinic(self) -> ClinicConfig:
        return load_clinic_config(self.clinic_config_path)


def _env_number(name: str, default: float, kind: type = float) -> float:
    """A numeric environment variable, with an error that names it."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return kind(value)
    except ValueError as exc:
        noun = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {noun}, got {value!r}") from exc


def load_settings() -> Settings:
    """Read settings from the environment (see .env.example for every variable)."""
    root = Path(os.environ.get("MESO_PROJECT_ROOT", PROJECT_ROOT))
    var_dir = Path(os.environ.get("MESO_VAR_DIR", root / "var"))
    return Settings(
        project_root=root,
        var_dir=var_dir,
        facts_db_url=os.environ.get("MESO_FACTS_DB_URL", _sqlite_url(var_dir / "facts.db")),
        app_db_url=os.environ.get("MESO_APP_DB_URL", _sqlite_url(var_dir / "meso.db")),
        tracker_db_url=os.environ.get("MESO_TRACKER_DB_URL", _sqlite_url(var_dir / "tracker.db")),
        sources_dir=Path(os.environ.get("MESO_SOURCES_DIR", root.parent / "shared" / "sources")),
        spacy_model_dir=root / "spacy_pipeline",
        clinic_config_path=Path(os.environ.get("MESO_CLINIC_CONFIG", root / "clinic.yml")),
        staff_secret_key=os.environ.get("MESO_STAFF_SECRET_KEY") or None,
        max_message_chars=int(_env_number("MESO_MAX_MESSAGE_CHARS", 1000, int)),
        action_timeout_seconds=_env_number("MESO_ACTION_TIMEOUT", 1.5),
        production=os.environ.get("MESO_PROFILE", "").strip().lower() == "production",
        conversation_id_key=_secret("MESO_CONVERSATION_ID_KEY"),
        rest_token=_secret("MESO_REST_TOKEN"),
        trust_proxy=os.environ.get("MESO_TRUST_PROXY", "") in ("1", "true"),
        trusted_proxies=_networks("MESO_TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES),
        action_server_token=_secret("MESO_ACTION_SERVER_TOKEN"),
        redis_host=os.environ.get("MESO_REDIS_HOST") or None,
        redis_port=int(_env_number("MESO_REDIS_PORT", 6379, int)),
        redis_password=os.environ.get("MESO_REDIS_PASSWORD") or None,
        redis_dedup_db=int(_env_number("MESO_REDIS_DEDUP_DB", 2, int)),
    )


def _secret(name: str) -> str | None:
    """A secret from the environment: unset, or at least MIN_SECRET_CHARS long."""
    value = (os.environ.get(name) or "").strip()
    if not value:
        return None
    if len(value) < MIN_SECRET_CHARS:
        raise ConfigError(
            f"{name} is {len(value)} characters; use at least {MIN_SECRET_CHARS} random "
            "characters, e.g. the output of `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`"
        )
    return value


def _networks(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR networks, checked here so a typo fails early."""
    raw = os.environ.get(name)
    if not raw:
        return default
    networks = tuple(part.strip() for part in raw.split(",") if part.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as exc:
            raise ConfigError(
                f"{name}: {network!r} is not an IP address or network like 10.0.0.0/8"
            ) from exc
    return networks


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process."""
    return load_settings()
