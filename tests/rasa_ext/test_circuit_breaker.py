"""The circuit breaker: one timeout per turn at most, then the fallback at once.

The last tests run Rasa's RemoteAction, patched as the Rasa server patches it, against
a real TCP server that accepts connections and never answers.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiohttp
import pytest
import rasa.core.actions.action as rasa_action
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_ext import circuit_breaker, resilience
from bot.rasa_ext.action_deadline import HARD_CAP_FACTOR
from bot.rasa_ext.circuit_breaker import CircuitBreaker, is_timeout

TIMEOUT_S = 0.5


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _in_new_task(breaker: CircuitBreaker) -> bool:
    """Whether a different message (its own asyncio task) may call the server."""
    return await asyncio.create_task(_allows(breaker))


async def _allows(breaker: CircuitBreaker) -> bool:
    return breaker.allows_call()


async def test_a_timeout_opens_the_breaker_for_the_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(cooldown_seconds=5, clock=clock)
    assert await _in_new_task(breaker)

    async def turn_with_timeout() -> None:
        breaker.record_timeout()

    await asyncio.create_task(turn_with_timeout())
    assert breaker.open and not await _in_new_task(breaker)
    clock.now += 4.9
    assert not await _in_new_task(breaker)
    clock.now += 0.2
    assert await _in_new_task(breaker)  # the next message tries the server again


async def test_the_turn_that_timed_out_skips_the_server_even_after_the_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(cooldown_seconds=5, clock=clock)

    async def long_turn() -> tuple[bool, bool]:
        breaker.record_timeout()
        clock.now += 60  # e.g. a turn that waited on the lock or the database
        return breaker.allows_call(), await _in_new_task(breaker)

    this_turn, other_turn = await asyncio.create_task(long_turn())
    assert this_turn is False
    # A task created inside the turn inherits its context; a new message is a new task
    # created by the server, not by the turn.
    assert other_turn is False
    assert await _in_new_task(breaker)


def test_timeouts_are_recognised_through_rasas_wrapping() -> None:
    try:
        try:
            raise aiohttp.ServerTimeoutError("read timed out")
        except aiohttp.ClientConnectionError as error:
            raise RasaException("Failed to execute custom action.") from error
    except RasaException as wrapped:
        assert is_timeout(wrapped)
    assert is_timeout(asyncio.TimeoutError())
    refused = aiohttp.ClientConnectionError("connection refused")
    assert not is_timeout(RasaException("Failed to execute custom action."))
    assert not is_timeout(refused)


# ---- the patched RemoteAction against a hung server -----------------------------------


@pytest.fixture
async def hung_server() -> AsyncIterator[str]:
    """Accepts connections, reads, never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read(65536)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> CircuitBreaker:
    breaker = CircuitBreaker(cooldown_seconds=30)
    monkeypatch.setattr(circuit_breaker, "BREAKER", breaker)
    # As install() leaves them: our deadline, and aiohttp's hard cap above it.
    monkeypatch.setattr(resilience, "action_timeout_seconds", TIMEOUT_S)
    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT", TIMEOUT_S * HARD_CAP_FACTOR)
    monkeypatch.setattr(RemoteAction, "run", resilience._run_with_fallback)
    return breaker


def _domain() -> Domain:
    return Domain.from_dict(
        {
            "responses": {resilience.FALLBACK_RESPONSE: [{"text": "Sorry, call us."}]},
            "actions": ["action_answer_question"],
        }
    )


async def _answer(url: str, domain: Domain) -> tuple[list, float]:
    tracker = DialogueStateTracker.from_events(
        "patient",
        [ActionExecuted("action_listen"), UserUttered("does it hurt?", {"name": "ask"})],
    )
    action = RemoteAction("action_answer_question", EndpointConfig(url))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    started = time.monotonic()
    events = await action.run(CollectingOutputChannel(), nlg, tracker, domain)
    return events, time.monotonic() - started


async def test_a_hung_server_costs_one_timeout_per_turn(
    hung_server: str, patched: CircuitBreaker
) -> None:
    domain = _domain()

    async def turn() -> list[tuple[list, float]]:
        # Two custom actions in one turn, as action_session_start + the answer.
        return [await _answer(hung_server, domain), await _answer(hung_server, domain)]

    (first, first_s), (second, second_s) = await asyncio.create_task(turn())
    assert first_s >= TIMEOUT_S * 0.9  # the first call really waited for the server
    # ...for our deadline on an idle loop, not for the hard cap.
    assert first_s < TIMEOUT_S + 0.3, f"the first action waited {first_s:.2f} s"
    assert second_s < 0.2, f"the second action waited {second_s:.2f} s"
    for events in (first, second):
        assert [e.text for e in events] == ["Sorry, call us."]
    assert patched.timeouts == 1
    # The next patient's message, within the cooldown, doesn't wait either.
    _events, next_s = await asyncio.create_task(_answer(hung_server, domain))
    assert next_s < 0.2


async def test_a_refused_connection_does_not_open_the_breaker(patched: CircuitBreaker) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/webhook"
    events, _elapsed = await _answer(url, _domain())
    assert [e.text for e in events] == ["Sorry, call us."]
    assert not patched.open and patched.timeouts == 0


# ---- a healthy server, read late because our own loop is busy (issue #18) ---------------


class _SlowHandler(BaseHTTPRequestHandler):
    """A healthy action server that takes 0.3 s per action."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(0.3)
        body = json.dumps({"events": [], "responses": [{"text": "It may sting a little."}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    """In a thread of its own: it answers while the test's event loop is blocked."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhook"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_busy_rasa_loop_does_not_open_the_breaker(
    slow_server: str, patched: CircuitBreaker
) -> None:
    # The request goes out, then NLU-like CPU work holds the loop for 4 x the timeout:
    # the answer (after 0.3 s) waits unread in the socket, as with 50 senders.
    asyncio.get_running_loop().call_later(0.1, time.sleep, TIMEOUT_S * 4)
    events, elapsed = await asyncio.create_task(_answer(slow_server, _domain()))
    assert elapsed >= TIMEOUT_S * 4  # it did outlive the timeout...
    assert [e.text for e in events] == ["It may sting a little."]  # ...and got the answer
    assert patched.timeouts == 0 and not patched.open
