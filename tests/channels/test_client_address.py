"""Per-IP limits behind a proxy: the address the trusted proxy appended, never the
client's own X-Forwarded-For entries."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from bot.channels.client_address import client_address
from bot.channels.guarded import client_ip
from bot.config import ConfigError, get_settings, load_settings


@pytest.fixture(autouse=True)
def behind_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MESO_TRUST_PROXY", "1")
    monkeypatch.delenv("MESO_TRUSTED_PROXIES", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _request(peer: str, forwarded: str | None) -> SimpleNamespace:
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    return SimpleNamespace(ip=peer, headers=headers)


def test_a_spoofed_leftmost_entry_is_ignored() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4"; nginx appended the real address.
    assert client_ip(_request("127.0.0.1", "1.2.3.4, 203.0.113.9")) == "203.0.113.9"


def test_a_new_spoofed_value_per_request_does_not_reset_the_limit_key() -> None:
    keys = {client_ip(_request("127.0.0.1", f"10.9.{i}.1, 203.0.113.9")) for i in range(5)}
    # 10.x entries are "trusted" only as proxies; the rightmost untrusted hop is the key.
    assert keys == {"203.0.113.9"}


def test_chained_trusted_proxies_are_skipped() -> None:
    assert client_address("10.0.0.2", "198.51.100.7, 10.0.0.5", trust_proxy=True) == "198.51.100.7"


def test_header_ignored_from_an_untrusted_peer_or_without_trust() -> None:
    assert client_address("198.51.100.1", "203.0.113.9", trust_proxy=True) == "198.51.100.1"
    assert client_address("127.0.0.1", "203.0.113.9", trust_proxy=False) == "127.0.0.1"


def test_ports_and_ipv6_brackets() -> None:
    assert client_address("127.0.0.1", "203.0.113.9:4711", trust_proxy=True) == "203.0.113.9"
    assert client_address("::1", "[2001:db8::1]:443", trust_proxy=True) == "2001:db8::1"


def test_trusted_proxies_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESO_TRUSTED_PROXIES", "10.0.0.0/8, not-an-ip")
    with pytest.raises(ConfigError, match="MESO_TRUSTED_PROXIES"):
        load_settings()
    monkeypatch.setenv("MESO_TRUSTED_PROXIES", "192.0.2.10")
    get_settings.cache_clear()
    # Only 192.0.2.10 is a proxy now: loopback peers are clients.
    assert client_address("127.0.0.1", "203.0.113.9") == "127.0.0.1"
    assert client_address("192.0.2.10", "1.1.1.1, 203.0.113.9") == "203.0.113.9"
