"""Access control over the whole app: sessions, CSRF, cookies, timeouts, rate limiting."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from starlette.routing import Mount, Route

from bot.db import engine_for, session_scope
from bot.staff.models import AuditEntry, StaffSession, utcnow
from tests.staff.conftest import CSRF_INPUT, PASSWORD, Staff

PUBLIC = {"/login", "/health"}


def concrete_routes(app, sample) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path) for every route of the app, with real values for path parameters."""
    values = {
        "{key}": "web-good",
        "{request_id:int}": str(sample["normal_request"].id),
        "{username}": "viewer",
    }
    found = []
    for route in app.routes:
        if isinstance(route, Mount):
            found.append(("GET", route.path + "/staff.css"))
            continue
        assert isinstance(route, Route), f"unexpected route type {route!r}"
        path = route.path
        for placeholder, value in values.items():
            path = path.replace(placeholder, value)
        assert "{" not in path, f"add a sample value for {route.path}"
        found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def _is_public(path: str) -> bool:
    return path in PUBLIC or path.startswith("/static/")


def test_every_route_refuses_access_without_a_session(anonymous: Staff, sample) -> None:
    routes = concrete_routes(anonymous.client.app, sample)
    checked = 0
    for method, path in routes:
        if _is_public(path):
            continue
        response = anonymous.client.request(method, path, follow_redirects=False)
        if method == "GET":
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login?next="), path
        else:
            assert response.status_code == 401, (method, path, response.status_code)
        checked += 1
    assert checked >= 20  # the list really covered the app


def test_only_login_health_and_static_are_public(anonymous: Staff, sample) -> None:
    public = {path for _, path in concrete_routes(anonymous.client.app, sample) if _is_public(path)}
    assert public == {"/login", "/health", "/static/staff.css"}
    assert anonymous.client.get("/health").status_code == 200
    assert anonymous.client.get("/static/staff.css").status_code == 200
    assert anonymous.client.get("/login").status_code == 200


def test_unknown_paths_also_need_a_session(anonymous: Staff) -> None:
    response = anonymous.client.get("/no/such/page", follow_redirects=False)
    assert response.status_code == 303


def test_every_post_without_a_csrf_token_is_rejected(admin: Staff, sample) -> None:
    posts = [path for method, path in concrete_routes(admin.client.app, sample) if method == "POST"]
    assert "/login" in posts and "/logout" in posts and len(posts) >= 10
    for path in posts:
        for data in ({}, {"csrf_token": "forged"}):
            response = admin.client.post(path, data=data, follow_redirects=False)
            assert response.status_code == 403, (path, data, response.status_code)
            assert "CSRF" in response.text, path
    # Nothing happened: still logged in, nothing reviewed or tagged.
    assert admin.client.get("/conversations", follow_redirects=False).status_code == 200
    assert "Not reviewed yet" in admin.client.get("/conversations/web-good").text


def test_a_token_from_another_session_is_rejected(app_factory, sample) -> None:
    alice, bob = app_factory(), app_factory()
    alice.login("reviewer")
    bob.login("admin")
    response = alice.client.post(
        "/conversations/web-good/review",
        data={"reviewed": "1", "csrf_token": bob.csrf()},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_json_posts_need_the_header_token(reviewer: Staff, sample) -> None:
    response = reviewer.client.post(
        "/conversations/web-good/review", json={"reviewed": "1"}, follow_redirects=False
    )
    assert response.status_code == 403


def test_session_cookie_flags(app_factory) -> None:
    staff = app_factory()
    page = staff.client.get("/login")
    token = CSRF_INPUT.search(page.text).group(1)
    response = staff.client.post(
        "/login",
        data={"username": "viewer", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "meso_staff_session=" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie


def test_cookie_is_secure_when_configured_or_behind_https(app_factory) -> None:
    for staff in (app_factory(secure_cookies=True),):
        page = staff.client.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
    https = app_factory()
    https.client.base_url = "https://testserver"
    page = https.client.get("/login")
    assert "secure" in page.headers["set-cookie"].lower()


def test_security_headers(viewer: Staff) -> None:
    response = viewer.client.get("/conversations")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_idle_sessions_expire(viewer: Staff, config) -> None:
    engine = engine_for(config.app_db_url)
    with session_scope(engine) as session:
        session.execute(
            sa.update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
    response = viewer.client.get("/conversations", follow_redirects=False)
    assert response.status_code == 303
    assert "expired=1" in response.headers["location"]
    with session_scope(engine) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(StaffSession)).scalar() == 0


def test_activity_keeps_the_session_alive(viewer: Staff, config) -> None:
    engine = engine_for(config.app_db_url)
    with session_scope(engine) as session:
        session.execute(
            sa.update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=29))
        )
    assert viewer.client.get("/conversations", follow_redirects=False).status_code == 200
    with session_scope(engine) as session:
        seen = session.execute(sa.select(StaffSession.last_seen_at)).scalar_one()
    assert utcnow() - seen < timedelta(minutes=1)


def test_logout_ends_the_session_on_the_server(viewer: Staff) -> None:
    stolen = dict(viewer.client.cookies)
    response = viewer.post("/logout", {})
    assert response.status_code == 303
    viewer.client.cookies.clear()
    for name, value in stolen.items():
        viewer.client.cookies.set(name, value)
    assert viewer.client.get("/conversations", follow_redirects=False).status_code == 303


def test_disabling_a_user_ends_their_sessions(viewer: Staff, users) -> None:
    users.set_active("viewer", False)
    assert viewer.client.get("/conversations", follow_redirects=False).status_code == 303


def test_login_is_rate_limited_and_audited(anonymous: Staff, config) -> None:
    page = anonymous.client.get("/login")
    token = CSRF_INPUT.search(page.text).group(1)

    def attempt(password: str) -> int:
        return anonymous.client.post(
            "/login",
            data={"username": "reviewer", "password": password, "csrf_token": token},
            follow_redirects=False,
        ).status_code

    assert [attempt("wrong password!") for _ in range(5)] == [401] * 5
    assert attempt(PASSWORD) == 429  # even the right password, until the window passes
    with session_scope(engine_for(config.app_db_url)) as session:
        actions = list(
            session.execute(
                sa.select(AuditEntry.action).where(AuditEntry.target == "reviewer")
            ).scalars()
        )
    assert actions.count("login_failed") == 5
    assert "login_blocked" in actions


def test_login_redirects_only_within_the_site(anonymous: Staff) -> None:
    response = anonymous.login(
        "viewer", page="/login?next=//evil.example/x", next="//evil.example/x"
    )
    assert response.headers["location"] == "/"


def test_login_returns_to_the_requested_page(anonymous: Staff, sample) -> None:
    first = anonymous.client.get("/conversations?fallback=yes", follow_redirects=False)
    login_page = anonymous.client.get(first.headers["location"])
    assert 'name="next" value="/conversations?fallback=yes"' in login_page.text
    response = anonymous.login(
        "viewer", page=first.headers["location"], next="/conversations?fallback=yes"
    )
    assert response.headers["location"] == "/conversations?fallback=yes"


def test_passwords_are_stored_as_argon2id(users) -> None:
    assert users.get("viewer").password_hash.startswith("$argon2id$")
    assert users.authenticate("viewer", PASSWORD) is not None
    assert users.authenticate("viewer", "nope nope nope") is None
    assert users.authenticate("nobody", PASSWORD) is None


def test_changes_and_exports_are_declared_for_reviewers_or_admins(anonymous: Staff) -> None:
    """Role checks are part of each route's definition, so a new route can't forget one."""
    for route in anonymous.client.app.routes:
        if not isinstance(route, Route) or route.path in ("/login", "/logout"):
            continue
        role = getattr(route.endpoint, "required_role", None)
        changes = "POST" in (route.methods or ())
        exports = route.path.endswith((".json", ".csv", ".yml"))
        if changes or exports or route.path.startswith("/admin"):
            assert role in ("reviewer", "admin"), route.path
        if route.path.startswith("/admin"):
            assert role == "admin", route.path


def test_every_page_answers_every_role_without_errors(app_factory, sample) -> None:
    for role in ("viewer", "reviewer", "admin"):
        staff = app_factory()
        staff.login(role)
        for method, path in concrete_routes(staff.client.app, sample):
            if method != "GET":
                continue
            response = staff.client.get(path, follow_redirects=False)
            expected = (303,) if path == "/login" else (200, 403)  # /login: already logged in
            assert response.status_code in expected, (role, path, response.status_code)
