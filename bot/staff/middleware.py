"""The gate in front of every route: session, CSRF, security headers.

It is ASGI middleware rather than a decorator so that no route can be added without
it: anything but /login, /health and /static needs a session, and every POST needs
the CSRF token of its session (or, for the login form, of the login cookie).
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.staff.sessions import LOGIN_CSRF_COOKIE, SESSION_COOKIE, SessionStore

PUBLIC_PATHS = frozenset({"/login", "/health"})
PUBLIC_PREFIXES = ("/static/",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_POST_BYTES = 256 * 1024

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class StaffGuard:
    def __init__(self, app: ASGIApp, sessions: SessionStore) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send, scope["path"])
        request = Request(scope)
        path, method = scope["path"], scope["method"]
        cookie = request.cookies.get(SESSION_COOKIE)
        user = None
        if cookie and (path == "/login" or not is_public(path)):
            user = await run_in_threadpool(self.sessions.lookup, cookie)
        scope.setdefault("state", {})["user"] = user

        if user is None and not is_public(path):
            response = _login_required(request, expired=bool(cookie))
            await response(scope, receive, send)
            return

        if method not in SAFE_METHODS:
            body = await _read_body(receive)
            if body is None:
                await PlainTextResponse("Request too large.", 413)(scope, receive, send)
                return
            if path == "/login":
                expected = self.sessions.login_token(request.cookies.get(LOGIN_CSRF_COOKIE))
            else:
                expected = user.csrf_token if user else None
            if not _csrf_ok(request, body, expected):
                response = PlainTextResponse(
                    "This form has expired or did not come from this site (missing or "
                    "wrong CSRF token). Go back, reload the page and try again.",
                    403,
                )
                await response(scope, receive, send)
                return
            receive = _replay(body, receive)

        await self.app(scope, receive, send)


def _login_required(request: Request, expired: bool) -> Response:
    if request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = "/login?next=" + quote(target, safe="")
        if expired:
            location += "&expired=1"
        return RedirectResponse(location, status_code=303)
    return PlainTextResponse("Log in first: this needs a staff session.", 401)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_POST_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _csrf_ok(request: Request, body: bytes, expected: str | None) -> bool:
    if not expected:
        return False
    supplied = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if supplied is None and content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD)
        supplied = values[0] if values else None
    return bool(supplied) and hmac.compare_digest(supplied.encode(), expected.encode())


def _with_headers(send: Send, path: str) -> Send:
    cacheable = path.startswith(PUBLIC_PREFIXES)

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            for name, value in SECURITY_HEADERS.items():
                if name.encode() not in present:
                    headers.append((name.encode(), value.encode()))
            if not cacheable and b"cache-control" not in present:
                # Pages hold patient messages: keep them out of shared and disk caches.
                headers.append((b"cache-control", b"no-store"))
            message = {**message, "headers": headers}
        await send(message)

    return send_with_headers
