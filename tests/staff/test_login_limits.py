"""Login limits: per address, per account, per address+account, and a browser that has
signed in before can't be locked out by someone failing on purpose."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.config import ConfigError, get_settings, load_settings
from bot.serve import forwarded_allow_ips
from bot.staff.auth import DeviceTokens, LoginLimiter
from bot.staff.config import StaffConfig, check_secret_key
from tests.staff.conftest import CSRF_INPUT, PASSWORD, Staff


def _attempt(staff: Staff, username: str, password: str) -> int:
    token = CSRF_INPUT.search(staff.client.get("/login").text).group(1)
    return staff.client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    ).status_code


def test_failing_on_purpose_does_not_lock_out_the_admins_browser(app_factory) -> None:  # type: ignore[no-untyped-def]
    make = app_factory
    admin = make()
    admin.login("admin")  # this browser now holds a device token for "admin"
    admin.client.post("/logout", data={"csrf_token": admin.csrf()})
    # Same app (state is per app): the attacker's client shares the admin's address, as
    # every client does behind a proxy that hides addresses.
    attacker = Staff(admin.client.__class__(admin.client.app, base_url="http://testserver"))
    statuses = [_attempt(attacker, "admin", "wrong password!") for _ in range(12)]
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429
    assert _attempt(attacker, "admin", PASSWORD) == 429  # the attacker stays blocked
    assert _attempt(admin, "admin", PASSWORD) == 303  # the admin's browser does not


def test_one_address_spraying_many_accounts_is_limited(anonymous: Staff, users) -> None:  # type: ignore[no-untyped-def]
    statuses = [_attempt(anonymous, f"nobody{i}", "wrong password!") for i in range(21)]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429


def test_account_limit_across_addresses_spares_known_devices() -> None:
    limiter = LoginLimiter(max_failures=5, max_account_failures=10)
    for i in range(10):
        assert limiter.retry_after("admin", f"198.51.100.{i}") == 0
        limiter.failed("admin", f"198.51.100.{i}")
    assert limiter.retry_after("admin", "203.0.113.1") > 0  # unknown browser, new address
    assert limiter.retry_after("admin", "203.0.113.1", device="d1") == 0
    assert limiter.retry_after("reviewer", "203.0.113.1") == 0


def test_device_tokens_are_bound_to_the_user() -> None:
    tokens = DeviceTokens("k" * 40)
    token = tokens.issue("admin")
    assert tokens.verify(token, "admin") and tokens.verify(token, "ADMIN ")
    assert tokens.verify(token, "reviewer") is None
    assert tokens.verify(token + "x", "admin") is None
    assert DeviceTokens("j" * 40).verify(token, "admin") is None
    assert tokens.verify(None, "admin") is None and tokens.verify("garbage", "admin") is None


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("MESO_PROFILE", "MESO_STAFF_SECURE_COOKIES", "MESO_STAFF_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize("key", ["generate-a-long-random-string", "change-me", "secret"])
def test_placeholder_secret_keys_are_refused(env, key: str) -> None:  # type: ignore[no-untyped-def]
    env.setenv("MESO_STAFF_SECRET_KEY", key)
    with pytest.raises(ConfigError, match="placeholder"):
        StaffConfig.from_settings(load_settings())


@pytest.mark.parametrize("profile", ["production", "development", None])
def test_short_secret_keys_are_refused_in_every_profile(env, profile: str | None) -> None:  # type: ignore[no-untyped-def]
    if profile is not None:
        env.setenv("MESO_PROFILE", profile)
    env.setenv("MESO_STAFF_SECRET_KEY", "only-twenty-chars-xx")
    with pytest.raises(ConfigError, match="at least 32"):
        StaffConfig.from_settings(load_settings())
    env.setenv("MESO_STAFF_SECRET_KEY", "x" * 31)
    with pytest.raises(ConfigError, match="at least 32"):
        check_secret_key(load_settings())
    env.setenv("MESO_STAFF_SECRET_KEY", "x" * 32)
    assert check_secret_key(load_settings()) == "x" * 32


async def test_staff_app_behind_a_proxy_sees_the_appended_address(env) -> None:  # type: ignore[no-untyped-def]
    env.setenv("MESO_TRUST_PROXY", "1")
    get_settings.cache_clear()
    seen: list[str] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["client"][0])

    middleware = ProxyHeadersMiddleware(app, trusted_hosts=forwarded_allow_ips())
    for spoof in ("1.2.3.4", "5.6.7.8"):
        scope = {
            "type": "http",
            "client": ("172.18.0.5", 5000),  # nginx in a Docker network
            "headers": [(b"x-forwarded-for", f"{spoof}, 203.0.113.9".encode())],
        }
        await middleware(scope, None, None)  # type: ignore[arg-type]
    assert seen == ["203.0.113.9", "203.0.113.9"]


def test_device_cookie_is_httponly_strict_and_for_login_only(app_factory) -> None:  # type: ignore[no-untyped-def]
    staff = app_factory()
    token = CSRF_INPUT.search(staff.client.get("/login").text).group(1)
    response = staff.client.post(
        "/login",
        data={"username": "viewer", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("meso_staff_device=")
    )
    assert re.search(r"(?i)httponly", cookie) and re.search(r"(?i)samesite=strict", cookie)
    assert "Path=/login" in cookie
