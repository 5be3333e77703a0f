"""The action deadline counts the server's time, not the time our event loop was busy.

The "server" here is a coroutine (asyncio.sleep, or a future nobody resolves); the
busy loop is synchronous CPU work (time.sleep) run in the loop, as Rasa's NLU is.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.rasa_ext import action_deadline
from bot.rasa_ext.action_deadline import LoopLagMonitor, call

TIMEOUT_S = 0.5


@pytest.fixture(autouse=True)
def fresh_overload_log(monkeypatch: pytest.MonkeyPatch) -> action_deadline._OverloadLog:
    log = action_deadline._OverloadLog()
    monkeypatch.setattr(action_deadline, "OVERLOAD_LOG", log)
    return log


async def _server(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "answer"


async def _never() -> str:
    await asyncio.Future()
    raise AssertionError("unreachable")


async def test_the_monitor_counts_blocked_time_and_not_idle_time() -> None:
    monitor = LoopLagMonitor(asyncio.get_running_loop())
    monitor.start()
    await asyncio.sleep(0.1)
    before = monitor.busy_seconds()
    await asyncio.sleep(0.4)  # idle
    idle = monitor.busy_seconds() - before
    time.sleep(0.4)  # the loop is blocked
    await asyncio.sleep(0.05)
    blocked = monitor.busy_seconds() - before - idle
    # Bounds for a shared machine: an idle process waits for a core now and then.
    assert idle < 0.15, f"an idle loop counted {idle:.3f} s busy"
    assert 0.35 < blocked < 0.6, f"a 0.4 s block counted {blocked:.3f} s"


async def test_an_answer_read_late_because_the_loop_was_blocked_is_not_a_timeout(
    fresh_overload_log: action_deadline._OverloadLog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=action_deadline.__name__)
    loop = asyncio.get_running_loop()

    async def blocked_call() -> tuple[str, float]:
        # The server answers after 0.3 s; the loop is blocked from 0.1 s to 2.1 s.
        loop.call_later(0.1, time.sleep, 2.0)
        started = time.monotonic()
        answer = await call(lambda: _server(0.3), TIMEOUT_S)
        return answer, time.monotonic() - started

    answer, elapsed = await blocked_call()
    assert answer == "answer" and elapsed >= 2.0
    # Overload is logged, once for both calls within the minute.
    await blocked_call()
    assert fresh_overload_log.saved == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "busy" in warnings[0].getMessage()


async def test_a_silent_server_on_an_idle_loop_times_out_after_the_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await call(_never, TIMEOUT_S)
    elapsed = time.monotonic() - started
    assert TIMEOUT_S * 0.95 <= elapsed < TIMEOUT_S + 0.3, f"gave up after {elapsed:.2f} s"


async def test_a_slow_server_times_out_even_while_the_loop_is_partly_busy() -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(0.1, time.sleep, 0.3)  # busy 0.3 s, then idle: the server is late
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await call(_never, TIMEOUT_S)
    elapsed = time.monotonic() - started
    assert TIMEOUT_S + 0.2 <= elapsed < TIMEOUT_S + 0.6, f"gave up after {elapsed:.2f} s"


async def test_a_loop_that_never_idles_stops_at_the_hard_cap() -> None:
    async def cpu_hog() -> None:
        while True:
            time.sleep(0.05)
            await asyncio.sleep(0)

    hog = asyncio.create_task(cpu_hog())
    started = time.monotonic()
    try:
        with pytest.raises(asyncio.TimeoutError):
            await call(_never, TIMEOUT_S, hard_cap=1.0)
    finally:
        hog.cancel()
    elapsed = time.monotonic() - started
    assert 0.95 <= elapsed < 1.5, f"gave up after {elapsed:.2f} s"


async def test_the_call_is_cancelled_when_the_deadline_passes() -> None:
    cancelled = asyncio.Event()

    async def hung() -> str:
        try:
            return await _never()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(asyncio.TimeoutError):
        await call(hung, 0.1)
    assert cancelled.is_set()  # its connection is closed before the fallback goes out
