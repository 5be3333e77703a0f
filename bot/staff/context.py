"""Everything the routes share, built once by create_app and kept on app.state."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from starlette.requests import Request

from bot.staff import audit
from bot.staff.auth import CurrentUser, DeviceTokens, LoginLimiter, UserStore
from bot.staff.config import StaffConfig
from bot.staff.domain import DomainInfo, load_domain
from bot.staff.sessions import SessionStore
from bot.staff.store import ConversationStore


@dataclass
class StaffApp:
    config: StaffConfig
    app_engine: Engine
    tracker_engine: Engine
    index: ConversationStore  # the conversation store's feed and lookups
    sessions: SessionStore
    users: UserStore
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    _domain: tuple[float, DomainInfo] | None = None

    @property
    def domain(self) -> DomainInfo:
        """The Rasa domain, re-read when domain.yml changes (it is edited during work)."""
        path = self.config.project_root / "domain.yml"
        stamp = path.stat().st_mtime if path.is_file() else 0.0
        if self._domain is None or self._domain[0] != stamp:
            self._domain = (stamp, load_domain(self.config.project_root))
        return self._domain[1]

    @property
    def devices(self) -> DeviceTokens:
        return DeviceTokens(self.config.secret_key)

    @property
    def project_root(self) -> Path:
        return self.config.project_root


def staff_app(request: Request) -> StaffApp:
    return request.app.state.staff  # type: ignore[no-any-return]


def current_user(request: Request) -> CurrentUser:
    """The logged-in user; StaffGuard guarantees one on every non-public route."""
    user = request.scope.get("state", {}).get("user")
    if user is None:
        raise RuntimeError("route reached without a session; is StaffGuard installed?")
    return user  # type: ignore[no-any-return]


def client_ip(request: Request) -> str:
    """The client's address. Behind a proxy, uvicorn has already replaced the peer with
    the rightmost untrusted X-Forwarded-For hop (`python -m bot serve staff` passes
    MESO_TRUSTED_PROXIES as its forwarded_allow_ips)."""
    return request.client.host if request.client else "unknown"


def audit_request(
    request: Request,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    user = request.scope.get("state", {}).get("user")
    name = actor or (user.username if user else "anonymous")
    audit.record(staff_app(request).app_engine, name, action, target, detail, client_ip(request))
