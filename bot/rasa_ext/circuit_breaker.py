"""Stop waiting for an action server that has stopped answering.

A hung action server (it accepts the connection and never replies) costs every custom
action the whole request timeout. A new conversation runs two of them in one turn
(``action_session_start``, then the answer), so the patient waited twice the timeout
before the fallback reply. After one timeout the breaker is open: the rest of that
turn, and every turn for ``cooldown_seconds`` after, skips the action server and
answers with the fallback at once. The first call after the cooldown tries again.

Only timeouts open it. A refused connection fails in milliseconds and costs the
patient nothing, and a server that restarts after a crash should be used again at once.
And only the action server's own slowness is a timeout: while Rasa's event loop is too
busy to read an answer (many patients at once), the wait goes on up to a hard cap
(bot/rasa_ext/action_deadline.py). Before that, 50 concurrent senders opened the
breaker against a healthy action server and 202 of 637 replies became the fallback
(docs/performance.md, issue #18).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextvars import ContextVar

# Long enough to spare the turns already waiting on the hung server, short enough that
# a recovered server is used again within seconds.
COOLDOWN_SECONDS = 5.0

# Rasa handles one message in one asyncio task, so a context variable set during the
# turn is seen by every later action of that turn and by no other message.
_TURN_TRIPPED: ContextVar[object | None] = ContextVar("meso_breaker_turn", default=None)


def is_timeout(error: BaseException) -> bool:
    """True if ``error`` or what caused it is a timeout (Rasa wraps aiohttp's)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, (asyncio.TimeoutError, TimeoutError)):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class CircuitBreaker:
    """Per process: open after a timeout, for the rest of the turn and a cooldown."""

    def __init__(
        self,
        cooldown_seconds: float = COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._open_until = float("-inf")
        self.timeouts = 0

    @property
    def open(self) -> bool:
        return self._clock() < self._open_until

    def allows_call(self) -> bool:
        """False while open, or if this turn has already seen a timeout."""
        return _TURN_TRIPPED.get() is not self and not self.open

    def record_timeout(self) -> None:
        self.timeouts += 1
        self._open_until = self._clock() + self.cooldown_seconds
        _TURN_TRIPPED.set(self)

    def reset(self) -> None:
        self._open_until = float("-inf")
        self.timeouts = 0


BREAKER = CircuitBreaker()
