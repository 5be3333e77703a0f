"""The one configuration loader: environment variables plus the clinic config file.

Every component (actions, channels, staff app, CLI, tests) reads settings from here,
so a value has exactly one name and one default.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot import PROJECT_ROOT
from bot.clinic_hours import HoursError, OpeningHours

NumberT = TypeVar("NumberT", int, float)


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
    # Structured hours (bot.clinic_hours); None: `hours` is free text, and the bot
    # says nothing about whether the clinic is open now.
    opening_hours: OpeningHours | None = None

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


def _opening_hours(raw: dict, path: Path, timezone: str) -> OpeningHours | None:
    """clinic.yml's ``opening_hours``, read in the clinic's time zone (MESO_STAFF_TIMEZONE)."""
    if raw.get("opening_hours") is None:
        return None
    if str(raw.get("hours") or "").strip():
        # One place per fact: the text patients see is rendered from the structure.
        raise ConfigError(
            f"{path}: set either hours (free text) or opening_hours, not both; with "
            "opening_hours the bot writes the hours text itself"
        )
    try:
        return OpeningHours.parse(raw["opening_hours"], timezone)
    except HoursError as exc:
        raise ConfigError(f"{path}: opening_hours: {exc}") from exc


def load_clinic_config(path: Path, timezone: str = "UTC") -> ClinicConfig:
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
    opening_hours = _opening_hours(raw, path, timezone)
    if opening_hours is not None:
        raw = {**raw, "hours": opening_hours.describe()}
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
        opening_hours=opening_hours,
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
class RateLimit:
    """At most ``requests`` in any ``window_seconds`` window (bot.channels.ratelimit)."""

    requests: int
    window_seconds: float


def parse_rate_limit(name: str, raw: str) -> RateLimit:
    """Parse "COUNT/SECONDS", e.g. MESO_RATE_LIMIT_SENDER=20/60."""
    try:
        count, seconds = raw.split("/")
        return RateLimit(int(count), float(seconds))
    except ValueError as exc:
        raise ConfigError(f"{name} must look like 20/60 (requests/seconds), got {raw!r}") from exc


# The services of `make run` (Procfile): name -> (port variable, default port).
SERVICE_PORTS = {
    "rasa": ("MESO_RASA_PORT", 5005),
    "actions": ("MESO_ACTIONS_PORT", 5055),
    "web": ("MESO_WEB_PORT", 8080),
    "staff": ("MESO_STAFF_PORT", 8000),
}
# Environment variables of the WhatsApp Cloud API channel (bot.channels.whatsapp_config).
WHATSAPP_ENV_VARS = (
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
    "WHATSAPP_ACCESS_TOKEN",
    "WHATSAPP_PHONE_NUMBER_ID",
    "WHATSAPP_API_BASE_URL",
)


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
    # Services: where they listen, and what Rasa is started with.
    bind_host: str = "127.0.0.1"
    ports: tuple[tuple[str, int], ...] = tuple((k, v[1]) for k, v in SERVICE_PORTS.items())
    public_rasa_url: str | None = None
    endpoints_path: Path = Path("endpoints.yml")
    model_path: str = "models"
    rasa_api_token: str | None = None
    action_endpoint_url: str | None = None
    log_level: str = "INFO"
    # Public channels (bot.channels.guarded): per sender and per client address.
    rate_limit_sender: RateLimit = RateLimit(30, 60.0)
    rate_limit_ip: RateLimit = RateLimit(120, 60.0)
    # Staff app (bot.staff.config). staff_timezone is the clinic's time zone: dates shown
    # to staff and clinic.yml's opening_hours.
    staff_timezone: str = "UTC"
    staff_idle_minutes: int = 30
    staff_secure_cookies: bool = False
    staff_nlu_threshold: float = 0.5
    # Live takeover (bot.staff.takeover): where the staff app reaches Rasa's HTTP API
    # (None: the local Rasa on MESO_RASA_PORT), the idle hand-back and staff titles.
    rasa_api_url: str | None = None
    takeover_idle_seconds: float = 300.0
    takeover_titles: tuple[str, ...] = ("nurse", "doctor", "receptionist", "member of staff")
    # WHATSAPP_* variables as set (empty ones left out); bot.channels.whatsapp_config.
    whatsapp: tuple[tuple[str, str], ...] = ()

    @property
    def clinic(self) -> ClinicConfig:
        return load_clinic_config(self.clinic_config_path, self.staff_timezone)

    @property
    def takeover_rasa_url(self) -> str:
        return (self.rasa_api_url or f"http://127.0.0.1:{self.port('rasa')}").rstrip("/")

    def redis_url(self, db: int) -> str | None:
        """redis://[:password@]host:port/db of MESO_REDIS_HOST, or None when unset."""
        if not self.redis_host:
            return None
        auth = f":{quote(self.redis_password, safe='')}@" if self.redis_password else ""
        return f"redis://{auth}{self.redis_host}:{self.redis_port}/{db}"

    def port(self, service: str) -> int:
        """The port of one service of SERVICE_PORTS."""
        return dict(self.ports)[service]

    @property
    def rasa_action_endpoint_url(self) -> str:
        """Where Rasa calls the action server: MESO_ACTION_ENDPOINT_URL, else the local
        action server on MESO_ACTIONS_PORT."""
        if self.action_endpoint_url:
            return self.action_endpoint_url
        host = "127.0.0.1" if self.bind_host in ("0.0.0.0", "::", "") else self.bind_host
        return f"http://{host}:{self.port('actions')}/webhook"

    def rasa_environment(self) -> dict[str, str]:
        """The variables endpoints.yml references (Rasa expands ``${VAR}`` but has no
        defaults), so `python -m bot serve rasa` exports them before starting Rasa."""
        values = {
            "MESO_ACTION_ENDPOINT_URL": self.rasa_action_endpoint_url,
            "MESO_TRACKER_DB_URL": self.tracker_db_url,
            "MESO_REDIS_PORT": str(self.redis_port),
        }
        if self.redis_host:  # no default: a Redis lock store must name its server
            values["MESO_REDIS_HOST"] = self.redis_host
        return values


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
        bind_host=os.environ.get("MESO_BIND_HOST") or "127.0.0.1",
        ports=tuple(
            (service, int(_env_number(name, default, int)))
            for service, (name, default) in SERVICE_PORTS.items()
        ),
        public_rasa_url=os.environ.get("MESO_PUBLIC_RASA_URL") or None,
        endpoints_path=Path(os.environ.get("MESO_ENDPOINTS") or "endpoints.yml"),
        model_path=os.environ.get("MESO_MODEL") or "models",
        rasa_api_token=os.environ.get("MESO_RASA_API_TOKEN") or None,
        action_endpoint_url=os.environ.get("MESO_ACTION_ENDPOINT_URL") or None,
        log_level=os.environ.get("LOG_LEVEL") or "INFO",
        rate_limit_sender=parse_rate_limit(
            "MESO_RATE_LIMIT_SENDER", os.environ.get("MESO_RATE_LIMIT_SENDER") or "30/60"
        ),
        rate_limit_ip=parse_rate_limit(
            "MESO_RATE_LIMIT_IP", os.environ.get("MESO_RATE_LIMIT_IP") or "120/60"
        ),
        staff_timezone=_timezone("MESO_STAFF_TIMEZONE"),
        staff_idle_minutes=_positive_int("MESO_STAFF_IDLE_MINUTES", 30),
        staff_secure_cookies=os.environ.get("MESO_STAFF_SECURE_COOKIES", "") in ("1", "true"),
        staff_nlu_threshold=_fraction("MESO_STAFF_NLU_THRESHOLD", 0.5),
        rasa_api_url=os.environ.get("MESO_RASA_API_URL") or None,
        takeover_idle_seconds=_positive_number("MESO_TAKEOVER_IDLE_SECONDS", 300.0, "seconds"),
        takeover_titles=_titles("MESO_TAKEOVER_TITLES") or Settings.takeover_titles,
        whatsapp=tuple(
            (name, os.environ[name].strip())
            for name in WHATSAPP_ENV_VARS
            if (os.environ.get(name) or "").strip()
        ),
    )


def _timezone(name: str) -> str:
    value = os.environ.get(name) or "UTC"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{name}={value!r} is not a known time zone; use an IANA name such as Europe/London"
        ) from exc
    return value


def _checked(
    name: str,
    default: NumberT,
    kind: Callable[[str], NumberT],
    ok: Callable[[NumberT], bool],
    expected: str,
) -> NumberT:
    """A numeric environment variable that must pass ``ok``; the error names it."""
    raw = os.environ.get(name)
    if not raw:
        return default
    error = ConfigError(f"{name} must be {expected}, got {raw!r}")
    try:
        value = kind(raw)
    except ValueError:
        raise error from None
    if not ok(value):
        raise error
    return value


def _positive_number(name: str, default: float, unit: str) -> float:
    return _checked(name, default, float, lambda v: v > 0, f"a positive number of {unit}")


def _titles(name: str) -> tuple[str, ...]:
    """A comma-separated list, e.g. MESO_TAKEOVER_TITLES=nurse,doctor; () when unset."""
    return tuple(t.strip() for t in (os.environ.get(name) or "").split(",") if t.strip())


def _positive_int(name: str, default: int) -> int:
    return _checked(name, default, int, lambda v: v > 0, "a positive whole number of minutes")


def _fraction(name: str, default: float) -> float:
    return _checked(name, default, float, lambda v: 0.0 <= v <= 1.0, "a number between 0 and 1")


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
