"""bot.rasa_ext.resilience: the validator built once, and a reply instead of silence.

The validator must raise exactly what Rasa's own check raises (the action server's
responses are checked on every custom action). The fallback runs Rasa's RemoteAction,
patched as the startup hook patches it, against real sockets: one that refuses
connections and one that accepts and never answers.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import jsonschema
import pytest
import rasa.core.actions.action as rasa_action
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.contract import DISCLAIMER_SLOT, GREETING_RESPONSE
from bot.rasa_ext import circuit_breaker, resilience, startup
from bot.rasa_ext.action_deadline import HARD_CAP_FACTOR
from bot.rasa_ext.circuit_breaker import CircuitBreaker

# Rasa's own check, taken before any test could patch the class.
RASA_VALIDATE = RemoteAction._validate_action_result
TIMEOUT_S = 0.5

RESPONSES = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "topic", "value": "pain"}], "responses": [{"text": "x"}]},
    {"events": [{"event": "bot", "text": "hi"}], "responses": [{"text": "a", "buttons": []}]},
    {},
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot"}]},
    {"responses": "not a list"},
    {"events": [{"event": "action", "name": 3}]},
    {"events": [None]},
]


def _outcome(validate: Any, result: dict) -> tuple:
    try:
        return ("ok", validate(RemoteAction("action_x", None), result))
    except jsonschema.ValidationError as error:
        return ("error", error.message, list(error.path), error.validator, list(error.schema_path))


def test_rasa_check_is_the_unpatched_one() -> None:
    assert RASA_VALIDATE.__module__ == "rasa.core.actions.action"


@pytest.mark.parametrize("result", RESPONSES)
def test_the_cached_validator_raises_what_rasa_raises(result: dict) -> None:
    assert _outcome(resilience._validate_action_result, result) == _outcome(RASA_VALIDATE, result)


def test_the_validator_is_built_once() -> None:
    resilience._validate_action_result(RemoteAction("action_x", None), RESPONSES[0])
    assert resilience._action_result_validator() is resilience._action_result_validator()


# ---- the fallback against real sockets ----------------------------------------------


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/webhook"  # nothing listens there now


@pytest.fixture(autouse=True)
def patched(monkeypatch: pytest.MonkeyPatch) -> None:
    """RemoteAction as the startup hook leaves it, with a fresh breaker."""
    monkeypatch.setattr(circuit_breaker, "BREAKER", CircuitBreaker(cooldown_seconds=30))
    # As install() leaves them: our deadline, and aiohttp's hard cap above it.
    monkeypatch.setattr(resilience, "action_timeout_seconds", TIMEOUT_S)
    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT", TIMEOUT_S * HARD_CAP_FACTOR)
    monkeypatch.setattr(RemoteAction, "run", resilience._run_with_fallback)


def _domain() -> Domain:
    return Domain.from_dict(
        {
            "responses": {
                resilience.FALLBACK_RESPONSE: [{"text": "Sorry, please call the clinic."}],
                GREETING_RESPONSE: [{"text": "Hello! I share general information."}],
            },
            "slots": {DISCLAIMER_SLOT: {"type": "bool", "mappings": [{"type": "custom"}]}},
            "actions": ["action_answer_question", "validate_contact_form"],
        }
    )


async def _run(action_name: str, url: str, events: list) -> tuple[list, float]:
    domain = _domain()
    tracker = DialogueStateTracker.from_events("patient", events, domain.slots)
    action = RemoteAction(action_name, EndpointConfig(url))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    started = time.monotonic()
    result = await action.run(CollectingOutputChannel(), nlg, tracker, domain)
    return result, time.monotonic() - started


QUESTION = [ActionExecuted("action_listen"), UserUttered("does it hurt?", {"name": "ask_pain"})]


async def test_a_hung_action_server_costs_one_short_timeout(hung_server: str) -> None:
    events, seconds = await _run("action_answer_question", hung_server, QUESTION)
    assert [type(e) for e in events] == [BotUttered]
    assert events[0].text == "Sorry, please call the clinic."
    # It waited for the (short) timeout: not Rasa's 300 s default, nor our hard cap.
    assert TIMEOUT_S * 0.9 <= seconds < TIMEOUT_S + 0.4, f"the fallback took {seconds:.1f} s"


async def test_a_down_action_server_gets_the_fallback_at_once(closed_port_url: str) -> None:
    events, seconds = await _run("action_answer_question", closed_port_url, QUESTION)
    assert [type(e) for e in events] == [BotUttered]
    assert events[0].text == "Sorry, please call the clinic."
    assert seconds < 5, f"the fallback took {seconds:.1f} s"


async def test_a_failed_session_start_still_starts_the_session_and_greets(
    closed_port_url: str,
) -> None:
    asked = [
        ActionExecuted("action_listen"),
        UserUttered("/session_start", {"name": "session_start"}),
    ]
    events, _ = await _run("action_session_start", closed_port_url, asked)
    assert isinstance(events[0], SessionStarted)
    assert isinstance(events[-1], ActionExecuted) and events[-1].action_name == "action_listen"
    greetings = [e for e in events if isinstance(e, BotUttered)]
    assert [g.text for g in greetings] == ["Hello! I share general information."]
    assert SlotSet(DISCLAIMER_SLOT, True) in events


async def test_a_session_start_without_the_widget_request_does_not_greet(
    closed_port_url: str,
) -> None:
    events, _ = await _run("action_session_start", closed_port_url, QUESTION)
    assert isinstance(events[0], SessionStarted)
    assert not [e for e in events if isinstance(e, BotUttered)]


async def test_form_validation_failures_are_left_to_the_form(closed_port_url: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - whatever Rasa raised, not swallowed
        await _run("validate_contact_form", closed_port_url, QUESTION)


# ---- the startup hook ------------------------------------------------------------------


def test_the_startup_hook_runs_every_installer_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(startup, "_installed", False)
    monkeypatch.setattr(
        startup,
        "INSTALLERS",
        [lambda settings: calls.append("a"), lambda settings: calls.append("b")],
    )
    startup.install()
    startup.install()
    assert calls == ["a", "b"] and startup.installed()


def test_the_rasa_command_goes_through_the_startup_hook() -> None:
    from bot.serve import rasa_command

    command = rasa_command()
    assert command[1:4] == ["-m", "bot.rasa_ext.server", "run"]
