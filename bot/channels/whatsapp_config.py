"""Settings of the WhatsApp Cloud API channel, from environment variables (read once,
by bot.config, like every other setting).

Environment variables are the documented way to configure the channel; keys under the
connector in credentials.yml override them (handy for tests, never needed in production).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.config import WHATSAPP_ENV_VARS, get_settings

DEFAULT_API_BASE_URL = "https://graph.facebook.com/v22.0"

# credentials.yml key -> environment variable. Order is the order errors name them in.
ENV_VARS: dict[str, str] = dict(
    zip(
        ("app_secret", "verify_token", "access_token", "phone_number_id", "api_base_url"),
        WHATSAPP_ENV_VARS,
        strict=True,
    )
)
REQUIRED = ("app_secret", "verify_token", "access_token", "phone_number_id")


@dataclass(frozen=True)
class WhatsAppConfig:
    app_secret: str | None
    verify_token: str | None
    access_token: str | None
    phone_number_id: str | None
    api_base_url: str = DEFAULT_API_BASE_URL

    @classmethod
    def load(
        cls,
        credentials: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> WhatsAppConfig:
        """Environment first, then non-empty credentials.yml values on top."""
        environ = dict(get_settings().whatsapp) if environ is None else environ
        credentials = credentials or {}
        values: dict[str, str | None] = {}
        for key, env_var in ENV_VARS.items():
            from_credentials = credentials.get(key)
            if from_credentials is not None and str(from_credentials).strip():
                values[key] = str(from_credentials).strip()
            else:
                values[key] = (environ.get(env_var) or "").strip() or None
        base_url = (values.pop("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
        return cls(api_base_url=base_url, **values)

    @property
    def missing(self) -> list[str]:
        """Environment variables of the required settings that are not set."""
        return [ENV_VARS[key] for key in REQUIRED if not getattr(self, key)]

    @property
    def enabled(self) -> bool:
        return self.disabled_reason() is None

    def disabled_reason(self) -> str | None:
        """Why the channel must refuse every request, in the operator's terms."""
        if self.missing:
            names = " and ".join(self.missing)
            verb = "is" if len(self.missing) == 1 else "are"
            return (
                f"WhatsApp is disabled because {names} {verb} not set. Set them in the "
                "environment of the Rasa server (see docs/whatsapp.md) and restart it."
            )
        return self.base_url_problem()

    def base_url_problem(self) -> str | None:
        """Why WHATSAPP_API_BASE_URL is unusable, or None when it is fine."""
        parts = urlsplit(self.api_base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return (
                f"WHATSAPP_API_BASE_URL must be an http(s) URL such as "
                f"{DEFAULT_API_BASE_URL}, got {self.api_base_url!r}"
            )
        return None

    def messages_url(self) -> str:
        return f"{self.api_base_url}/{self.phone_number_id}/messages"
