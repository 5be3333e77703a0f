"""A small async client for the one Graph API call the channel makes: send a message.

One aiohttp session is reused for every send. Meta answers 429 when we send too fast and
5xx when it has trouble; both are retried with exponential backoff (honouring Retry-After),
a bounded number of times. Nothing logged here names the recipient or the message text.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

# Long digit runs in Graph error messages could be phone numbers; never log them.
_DIGIT_RUN = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def describe_graph_error(body: Any) -> str:
    """A log-safe summary of a Graph API error body: codes and a scrubbed message."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return "no Graph error details"
    error = body["error"]
    parts = [
        f"{key}={error[key]}"
        for key in ("code", "error_subcode", "type", "fbtrace_id")
        if error.get(key) is not None
    ]
    message = error.get("message")
    if isinstance(message, str) and message:
        parts.append(f"message={_DIGIT_RUN.sub('[number]', message)[:200]!r}")
    return ", ".join(parts) or "no Graph error details"


class GraphAPIClient:
    """Posts message payloads to ``{base}/{phone_number_id}/messages`` with retries."""

    def __init__(
        self,
        messages_url: str,
        access_token: str,
        *,
        timeout_seconds: float = 10.0,
        max_attempts: int = 4,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 8.0,
        retry_after_max_seconds: float = 30.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.messages_url = messages_url
        self._access_token = access_token
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.max_attempts = max(1, max_attempts)
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.retry_after_max_seconds = retry_after_max_seconds
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        # A session belongs to the loop it was made in; Sanic has one loop per process,
        # but tests (and reloads) may call us from a fresh loop.
        loop = asyncio.get_running_loop()
        if (
            self._session is None
            or self._session.closed
            or getattr(self._session, "_loop", loop) is not loop
        ):
            self._session = aiohttp.ClientSession(
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {self._access_token}"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry_after_max_seconds)
        delay = min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (attempt - 1))
        return delay * random.uniform(0.8, 1.2)

    async def send(self, payload: dict[str, Any], *, kind: str = "message") -> bool:
        """Send one message payload; True when Meta accepted it.

        Never raises for HTTP or network trouble: a failed send is logged and reported
        as False so that the rest of the conversation (and Rasa's tracker) carries on.
        """
        for attempt in range(1, self.max_attempts + 1):
            retry_after: float | None = None
            try:
                session = self._get_session()
                async with session.post(self.messages_url, json=payload) as resp:
                    if 200 <= resp.status < 300:
                        return True
                    try:
                        body = await resp.json(content_type=None)
                    except (ValueError, aiohttp.ClientError):
                        body = None
                    retryable = resp.status == 429 or resp.status >= 500
                    details = f"HTTP {resp.status} ({describe_graph_error(body)})"
                    retry_after = _retry_after_seconds(resp.headers.get("Retry-After"))
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                retryable = True
                details = f"network error {type(exc).__name__}"

            if not retryable:
                logger.error(
                    "WhatsApp: the Graph API refused a %s: %s. Not retrying; check "
                    "WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID and the 24-hour "
                    "customer service window.",
                    kind,
                    details,
                )
                return False
            if attempt == self.max_attempts:
                logger.error(
                    "WhatsApp: giving up on a %s after %d attempts: %s.",
                    kind,
                    attempt,
                    details,
                )
                return False
            delay = self._backoff(attempt, retry_after)
            logger.warning(
                "WhatsApp: sending a %s failed (attempt %d of %d): %s. Retrying in %.1fs.",
                kind,
                attempt,
                self.max_attempts,
                details,
                delay,
            )
            await self._sleep(delay)
        return False
