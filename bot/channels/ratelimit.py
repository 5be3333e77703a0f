"""In-process sliding-window rate limiter for the public channels.

Per process: with several Rasa replicas, each enforces its own limits, and nginx's
limit_req (deploy/nginx.conf) caps the total per IP.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque

from bot.config import RateLimit


class RateLimiter:
    """Allows `limit.requests` per key in any `limit.window_seconds` window."""

    def __init__(self, limit: RateLimit, max_keys: int = 50_000) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str, now: float | None = None) -> float:
        """0 if the request is allowed (and counted), else seconds until it would be."""
        now = time.monotonic() if now is None else now
        hits = self._hits.pop(key, None) or deque()
        while hits and now - hits[0] >= self.limit.window_seconds:
            hits.popleft()
        self._hits[key] = hits  # most recently used last
        if len(hits) >= self.limit.requests:
            return self.limit.window_seconds - (now - hits[0])
        hits.append(now)
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return 0.0
