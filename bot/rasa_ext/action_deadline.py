"""Time the action server, not our own event loop (issue #18).

Rasa runs NLU and the policies synchronously on its asyncio loop. With many patients
writing at once the loop is backlogged: the action server answers in milliseconds, but
Rasa reads the answer seconds later. A plain timeout on the request then blames the
action server, the circuit breaker opens, and healthy replies become
``utter_action_unavailable`` (96 to 231 of about 637 at 50 senders, docs/performance.md).

So the request runs under two limits:

- a hard cap (``HARD_CAP_FACTOR`` x the timeout), applied by aiohttp, for any case;
- our soft deadline: when the timeout has passed, the time the loop spent busy with
  other work since the call started (measured by ``LoopLagMonitor``) is taken off;
  only when the rest, the "server time", reaches the timeout is the call cancelled
  with ``asyncio.TimeoutError``, so a hung server on an idle loop still falls back
  after about the timeout.

A call that outlived the timeout only because the loop was busy is logged at WARNING,
at most once a minute, with how many there were: Rasa is overloaded, not the action
server. Tested in tests/rasa_ext/test_action_deadline.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The slowest patience we allow a busy Rasa: past it, even an overloaded process stops
# waiting and answers with the fallback.
HARD_CAP_FACTOR = 10.0

# The monitor's tick on a quiet loop: about 50 wake-ups a second, negligible CPU.
TICK_SECONDS = 0.02
# Timers wake a few ms late on an idle loop too (uvloop's clock has 1 ms steps, and a
# loaded machine schedules us late): lateness up to this is not counted, so a hung
# server on an idle loop still gives up close to the timeout. Later than this, the loop
# is busy: count every loop iteration in full from then on (one zero-delay tick per
# iteration) until an iteration takes less than QUIET_SECONDS.
TIMER_SLACK_SECONDS = 0.005
QUIET_SECONDS = 0.001
# After the timeout, how soon to look again at the lag at the earliest (no busy loop).
MIN_RECHECK_SECONDS = 0.02
OVERLOAD_LOG_INTERVAL_SECONDS = 60.0


class LoopLagMonitor:
    """Seconds the event loop has been busy, counted by a task that wakes up late.

    A tick that wakes later than scheduled was held up by other work: that lateness is
    busy time. On a quiet loop it ticks every TICK_SECONDS; once a tick is late it
    ticks every loop iteration (sleep(0)), so each iteration's full length is counted,
    not only the part after the next scheduled tick.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._busy = 0.0
        self._due = loop.time()  # when the next tick should run, plus its slack
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._due = self.loop.time()
            self._task = self.loop.create_task(self._tick(), name="meso-loop-lag-monitor")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def busy_seconds(self) -> float:
        """Busy time since start, including the lateness of a tick not yet run."""
        return self._busy + max(0.0, self.loop.time() - self._due)

    async def _tick(self) -> None:
        delay = TICK_SECONDS
        while True:
            slack = TIMER_SLACK_SECONDS if delay else 0.0
            self._due = self.loop.time() + delay + slack
            await asyncio.sleep(delay)
            now = self.loop.time()
            late = max(0.0, now - self._due)
            self._busy += late
            self._due = now
            if delay and late > 0:
                delay = 0.0
            elif not delay and late < QUIET_SECONDS:
                delay = TICK_SECONDS


_monitor: LoopLagMonitor | None = None


def monitor() -> LoopLagMonitor:
    """The running loop's monitor, started on first use (one loop per Rasa process)."""
    global _monitor
    loop = asyncio.get_running_loop()
    if _monitor is None or _monitor.loop is not loop or not _monitor.running:
        _monitor = LoopLagMonitor(loop)
        _monitor.start()
    return _monitor


class _OverloadLog:
    """At most one WARNING per interval, counting the calls saved in between."""

    def __init__(self, interval: float = OVERLOAD_LOG_INTERVAL_SECONDS) -> None:
        self.interval = interval
        self.saved = 0  # calls that outlived the timeout only because the loop was busy
        self._pending = 0
        self._next_log = float("-inf")

    def record(self, elapsed: float, busy: float, timeout: float) -> None:
        self.saved += 1
        self._pending += 1
        now = time.monotonic()
        if now < self._next_log:
            return
        logger.warning(
            "%d action-server call(s) took longer than the %.1f s timeout because this "
            "Rasa process was busy, not the action server (last: %.2f s, %.2f s of it "
            "waiting for the event loop); not counted as timeouts. Rasa is overloaded: "
            "add a replica or reduce concurrent traffic.",
            self._pending,
            timeout,
            elapsed,
            busy,
        )
        self._pending = 0
        self._next_log = now + self.interval


OVERLOAD_LOG = _OverloadLog()


async def call(
    make_call: Callable[[], Awaitable[T]], timeout: float, hard_cap: float | None = None
) -> T:
    """Await ``make_call()``; raise asyncio.TimeoutError once its server time >= timeout.

    Server time is the wall time since the call started minus the time the event loop
    was busy with other work meanwhile. ``hard_cap`` (default HARD_CAP_FACTOR x timeout)
    bounds the wall time whatever the loop does.
    """
    lag = monitor()
    loop = asyncio.get_running_loop()
    cap = timeout * HARD_CAP_FACTOR if hard_cap is None else hard_cap
    started, busy_at_start = loop.time(), lag.busy_seconds()
    # A task of its own, so the deadline can cancel it; it copies this turn's context.
    task = asyncio.ensure_future(make_call())
    wait = timeout
    try:
        while True:
            done, _pending = await asyncio.wait({task}, timeout=wait)
            elapsed = loop.time() - started
            busy = lag.busy_seconds() - busy_at_start
            if done:
                if elapsed > timeout:
                    OVERLOAD_LOG.record(elapsed, busy, timeout)
                return task.result()
            server_time = elapsed - busy
            if server_time >= timeout or elapsed >= cap:
                raise asyncio.TimeoutError(
                    f"no answer after {elapsed:.2f} s ({server_time:.2f} s not spent "
                    f"waiting for this process's event loop)"
                )
            wait = min(max(timeout - server_time, MIN_RECHECK_SECONDS), cap - elapsed)
    finally:
        if not task.done():
            task.cancel()
            # Let the request close its connection before the fallback is sent.
            await asyncio.wait({task})
