"""Staff accounts: roles, argon2id password hashes, login checks and rate limiting."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.staff.models import ROLES, StaffSession, StaffUser, utcnow

ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024  # argon2 hashes anything, but a megabyte "password" is an attack

# argon2-cffi's defaults are argon2id with the RFC 9106 low-memory profile.
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take the same time. A
# hash of a random, discarded string with the hasher's parameters (test_units checks
# they match), written out: hashing it at import cost every CLI command ~0.4 s.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$p2+k6IBL0nTnxeMTF3LL5A$kHArd2Ujv8JRXmSfppDd6noUXu4jpfwbLhk4OlC5BeI"  # noqa: E501


class AccountError(ValueError):
    """A username, role or password that cannot be used; the message says why."""


@dataclass(frozen=True)
class CurrentUser:
    """The logged-in staff member, as routes and templates see them."""

    id: int
    username: str
    role: str
    csrf_token: str

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def sees_contacts(self) -> bool:
        """Viewers see emails and phone numbers redacted."""
        return self.has_role("reviewer")

    @property
    def can_export(self) -> bool:
        return self.has_role("reviewer")

    @property
    def can_edit(self) -> bool:
        return self.has_role("reviewer")

    @property
    def is_admin(self) -> bool:
        return self.has_role("admin")


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise AccountError(
            "usernames are 2-64 characters: lowercase letters, digits, '.', '_' or '-'"
        )
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"the password is longer than {MAX_PASSWORD_CHARS} characters")


def check_role(role: str) -> str:
    if role not in ROLE_RANK:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    return role


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class UserStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, username: str, password: str, role: str) -> StaffUser:
        name = check_username(username)
        check_role(role)
        check_password(password)
        with session_scope(self.engine) as session:
            if self._find(session, name) is not None:
                raise AccountError(
                    f"user {name!r} already exists; use `python -m bot staff passwd {name}` "
                    "to change the password"
                )
            user = StaffUser(username=name, password_hash=hash_password(password), role=role)
            session.add(user)
        return user

    def set_password(self, username: str, password: str) -> StaffUser:
        check_password(password)
        with session_scope(self.engine) as session:
            user = self._require(session, username)
            user.password_hash = hash_password(password)
            # A password change logs the account out everywhere.
            session.execute(sa.delete(StaffSession).where(StaffSession.user_id == user.id))
            return user

    def set_active(self, username: str, active: bool) -> StaffUser:
        with session_scope(self.engine) as session:
            user = self._require(session, username)
            user.active = active
            if not active:
                session.execute(sa.delete(StaffSession).where(StaffSession.user_id == user.id))
            return user

    def set_role(self, username: str, role: str) -> StaffUser:
        check_role(role)
        with session_scope(self.engine) as session:
            user = self._require(session, username)
            user.role = role
            return user

    def get(self, username: str) -> StaffUser | None:
        with session_scope(self.engine) as session:
            return self._find(session, username.strip().lower())

    def all(self) -> list[StaffUser]:
        with session_scope(self.engine) as session:
            return list(
                session.execute(sa.select(StaffUser).order_by(StaffUser.username)).scalars()
            )

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        """The active user with this password, or None. Upgrades outdated hashes."""
        name = username.strip().lower()
        if len(password) > MAX_PASSWORD_CHARS:
            return None
        with session_scope(self.engine) as session:
            user = self._find(session, name)
            if user is None or not user.active:
                _verify(_DUMMY_HASH, password)
                return None
            if not _verify(user.password_hash, password):
                return None
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user.last_login_at = utcnow()
            return user

    @staticmethod
    def _find(session: Session, name: str) -> StaffUser | None:
        return session.execute(
            sa.select(StaffUser).where(StaffUser.username == name)
        ).scalar_one_or_none()

    def _require(self, session: Session, username: str) -> StaffUser:
        user = self._find(session, username.strip().lower())
        if user is None:
            raise AccountError(f"no staff user named {username!r}")
        return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class LoginLimiter:
    """Failed-login limits that slow guessing without letting anyone lock staff out.

    Three windows of `window_s`:
    - per username + address (`max_failures`): one guesser at one account;
    - per address (`max_ip_failures`): one guesser spraying many accounts;
    - per username from anywhere (`max_account_failures`): a guesser using many
      addresses, or every client behind a proxy that hides their addresses.

    A browser that has signed in to the account before shows a device token (see
    `DeviceTokens`); it is exempt from the address and account windows and limited
    only per username + device. So an attacker who fails on purpose as "admin" blocks
    themselves and unknown browsers, never the admin's own browser. In memory on
    purpose: every failure is also in the audit log for a human to see.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 15 * 60,
        max_ip_failures: int = 20,
        max_account_failures: int = 10,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_ip_failures = max_ip_failures
        self.max_account_failures = max_account_failures
        self._failures: dict[tuple[str, ...], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _keys(
        self, username: str, ip: str, device: str | None
    ) -> list[tuple[tuple[str, ...], int]]:
        name = username.strip().lower()
        if device is not None:
            return [(("device", name, device), self.max_failures)]
        return [
            (("pair", name, ip), self.max_failures),
            (("ip", ip), self.max_ip_failures),
            (("account", name), self.max_account_failures),
        ]

    def _recent(self, key: tuple[str, ...], now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def retry_after(self, username: str, ip: str, device: str | None = None) -> int:
        """Seconds until this attempt may be made; 0 when allowed now."""
        now = time.monotonic()
        wait = 0
        with self._lock:
            for key, limit in self._keys(username, ip, device):
                failures = self._recent(key, now)
                if len(failures) >= limit:
                    wait = max(wait, int(failures[-limit] + self.window_s - now) + 1)
        return wait

    def failed(self, username: str, ip: str, device: str | None = None) -> None:
        now = time.monotonic()
        with self._lock:
            for key, _limit in self._keys(username, ip, device):
                self._recent(key, now).append(now)
            while len(self._failures) > 30_000:  # bound memory under a spray of usernames
                oldest = min(self._failures, key=self._last_failure)
                self._failures.pop(oldest, None)

    def _last_failure(self, key: tuple[str, ...]) -> float:
        failures = self._failures[key]
        return failures[-1] if failures else 0.0

    def succeeded(self, username: str, ip: str, device: str | None = None) -> None:
        name = username.strip().lower()
        with self._lock:
            self._failures.pop(("pair", name, ip), None)
            if device is not None:
                self._failures.pop(("device", name, device), None)


class DeviceTokens:
    """Signed "this browser has signed in as USER before" tokens for `LoginLimiter`."""

    def __init__(self, secret: str) -> None:
        self._key = secret.encode("utf-8")

    def _mac(self, username: str, nonce: str) -> str:
        message = f"device\x00{username.strip().lower()}\x00{nonce}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def issue(self, username: str) -> str:
        nonce = secrets.token_urlsafe(12)
        return f"{nonce}.{self._mac(username, nonce)}"

    def verify(self, token: str | None, username: str) -> str | None:
        """The token's device id if it was issued for this username, else None."""
        nonce, _, mac = (token or "").partition(".")
        if not nonce or not mac or not hmac.compare_digest(mac, self._mac(username, nonce)):
            return None
        return nonce
