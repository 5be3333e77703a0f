"""The client's address behind a reverse proxy, for per-IP limits (Rasa and staff app).

A client can send any ``X-Forwarded-For`` it likes; each proxy appends the address it
saw. So the header is read only when the direct peer is a trusted proxy, and then
from the right: the first address that isn't a trusted proxy is the one a trusted
proxy appended, and the client can't choose it. The leftmost entry is never used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from bot.config import get_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(specs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(spec, strict=False) for spec in specs)


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _host(entry: str) -> str:
    """An X-Forwarded-For entry without a port or IPv6 brackets."""
    entry = entry.strip()
    if entry.startswith("["):
        return entry[1:].split("]", 1)[0]
    if entry.count(":") == 1:  # IPv4 with a port
        return entry.split(":", 1)[0]
    return entry


def client_address(
    peer: str,
    forwarded_for: str | None,
    *,
    trust_proxy: bool | None = None,
    trusted_proxies: tuple[str, ...] | None = None,
) -> str:
    """The address to rate-limit: the peer, or the rightmost untrusted forwarded hop."""
    settings = get_settings()
    trust_proxy = settings.trust_proxy if trust_proxy is None else trust_proxy
    networks = _networks(trusted_proxies or settings.trusted_proxies)
    peer = peer or "unknown"
    if not trust_proxy or not forwarded_for or not _trusted(peer, networks):
        return peer
    hops = [_host(entry) for entry in forwarded_for.split(",") if entry.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    # Every hop is a trusted proxy: the client is inside the clinic's network.
    return hops[0] if hops else peer
