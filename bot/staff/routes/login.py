"""Login and logout."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.staff.context import audit_request, client_ip, current_user, staff_app
from bot.staff.sessions import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from bot.staff.views import render

# "This browser has signed in as this user before": exempts it from the account-wide
# login limit, so failures on purpose from elsewhere can't lock the user out.
DEVICE_COOKIE = "meso_staff_device"
DEVICE_COOKIE_DAYS = 180


def safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a fresh login to another host."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or parts.path in ("/login", "/logout"):
        return "/"
    return target


def _set_cookie(
    response: Response,
    request: Request,
    name: str,
    value: str,
    path: str,
    samesite: Literal["lax", "strict"] = "lax",
    max_age: int | None = None,
) -> None:
    """A cookie that scripts can't read, sent over HTTPS only when the site is HTTPS."""
    secure = request.url.scheme == "https" or staff_app(request).config.secure_cookies
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite=samesite, secure=secure, path=path
    )


def _login_page(request: Request, status_code: int = 200, **context: object) -> Response:
    staff = staff_app(request)
    # Reuse a valid token: a second tab (or a browser fetching /favicon.ico through the
    # login redirect) must not invalidate the form already on screen.
    cookie_value = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    token = staff.sessions.login_token(cookie_value)
    if token is None:
        token, cookie_value = staff.sessions.new_login_token()
    response = render(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        next=safe_next(request.query_params.get("next") or str(context.pop("next", "") or "")),
        expired=request.query_params.get("expired") == "1",
        idle_minutes=staff.config.idle_minutes,
        **context,
    )
    _set_cookie(response, request, LOGIN_CSRF_COOKIE, cookie_value, path="/login")
    return response


async def login_form(request: Request) -> Response:
    if request.scope["state"].get("user") is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request)


async def login(request: Request) -> Response:
    staff = staff_app(request)
    form = await request.form()
    username = str(form.get("username") or "").strip().lower()[:64]
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))
    ip = client_ip(request)
    device = staff.devices.verify(request.cookies.get(DEVICE_COOKIE), username)

    wait = staff.limiter.retry_after(username, ip, device)
    if wait:
        audit_request(request, "login_blocked", username, {"retry_after_s": wait}, actor=username)
        minutes = max(1, round(wait / 60))
        return _login_page(
            request,
            status_code=429,
            failure=f"Too many failed attempts. Try again in about {minutes} minutes.",
            username=username,
            next=target,
        )

    user = await run_in_threadpool(staff.users.authenticate, username, password)
    if user is None:
        staff.limiter.failed(username, ip, device)
        audit_request(request, "login_failed", username, actor=username or "anonymous")
        return _login_page(
            request,
            status_code=401,
            failure="Wrong username or password.",
            username=username,
            next=target,
        )

    staff.limiter.succeeded(username, ip, device)
    # A fresh session on every login (no fixation), and the old one ends.
    staff.sessions.delete(request.cookies.get(SESSION_COOKIE))
    new = await run_in_threadpool(staff.sessions.create, user.id)
    audit_request(request, "login", user.username, actor=user.username)
    response = RedirectResponse(target, status_code=303)
    _set_cookie(response, request, SESSION_COOKIE, new.cookie_value, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    if device is None:
        _set_cookie(
            response,
            request,
            DEVICE_COOKIE,
            staff.devices.issue(user.username),
            path="/login",
            samesite="strict",
            max_age=DEVICE_COOKIE_DAYS * 24 * 3600,
        )
    return response


async def logout(request: Request) -> Response:
    user = current_user(request)
    staff_app(request).sessions.delete(request.cookies.get(SESSION_COOKIE))
    audit_request(request, "logout", user.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
