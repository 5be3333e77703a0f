"""Server-side login sessions behind a signed cookie.

The cookie carries only a random token, signed with the app's secret key; the
database keeps the token's hash, the CSRF token and the last activity time. So
logging out, disabling a user or changing a password ends sessions for real, and
the inactivity timeout is enforced on the server, not trusted to the browser.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, Signer, TimestampSigner
from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.staff.auth import CurrentUser
from bot.staff.models import StaffSession, StaffUser, utcnow

SESSION_COOKIE = "meso_staff_session"
LOGIN_CSRF_COOKIE = "meso_staff_login"
# Writing last_seen_at on every request would turn each page view into a write.
TOUCH_EVERY = timedelta(seconds=30)
LOGIN_TOKEN_MAX_AGE_S = 12 * 3600


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    cookie_value: str
    csrf_token: str


class SessionStore:
    def __init__(self, engine: Engine, secret_key: str, idle_minutes: int) -> None:
        self.engine = engine
        self.idle = timedelta(minutes=idle_minutes)
        self._signer = Signer(secret_key, salt="meso-staff-session")
        self._login_signer = TimestampSigner(secret_key, salt="meso-staff-login-csrf")

    # ---- logged-in sessions ---------------------------------------------------------
    def create(self, user_id: int) -> NewSession:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with session_scope(self.engine) as session:
            session.add(StaffSession(token_hash=_hash(token), user_id=user_id, csrf_token=csrf))
        return NewSession(self._signer.sign(token).decode(), csrf)

    def lookup(self, cookie_value: str | None) -> CurrentUser | None:
        """The user of a valid, recently active session; expired sessions are deleted."""
        token = self._unsign(self._signer, cookie_value)
        if token is None:
            return None
        now = utcnow()
        with session_scope(self.engine) as session:
            row = session.execute(
                sa.select(StaffSession, StaffUser)
                .join(StaffUser, StaffUser.id == StaffSession.user_id)
                .where(StaffSession.token_hash == _hash(token))
            ).first()
            if row is None:
                return None
            staff_session, user = row
            if not user.active or now - staff_session.last_seen_at > self.idle:
                session.delete(staff_session)
                return None
            if now - staff_session.last_seen_at > TOUCH_EVERY:
                staff_session.last_seen_at = now
            return CurrentUser(user.id, user.username, user.role, staff_session.csrf_token)

    def delete(self, cookie_value: str | None) -> None:
        token = self._unsign(self._signer, cookie_value)
        if token is None:
            return
        with session_scope(self.engine) as session:
            session.execute(sa.delete(StaffSession).where(StaffSession.token_hash == _hash(token)))

    def delete_expired(self) -> int:
        cutoff = utcnow() - self.idle
        with session_scope(self.engine) as session:
            result = session.execute(
                sa.delete(StaffSession).where(StaffSession.last_seen_at < cutoff)
            )
            return int(result.rowcount or 0)

    # ---- the login form's CSRF token (before there is a session) ---------------------
    def new_login_token(self) -> tuple[str, str]:
        """(token for the form, signed value for the cookie): a double-submit pair."""
        token = secrets.token_urlsafe(32)
        return token, self._login_signer.sign(token).decode()

    def login_token(self, cookie_value: str | None) -> str | None:
        if not cookie_value:
            return None
        try:
            token = self._login_signer.unsign(cookie_value, max_age=LOGIN_TOKEN_MAX_AGE_S)
        except BadSignature:  # includes SignatureExpired
            return None
        return token.decode()

    @staticmethod
    def _unsign(signer: Signer, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return signer.unsign(value).decode()
        except BadSignature:
            return None
