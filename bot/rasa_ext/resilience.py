"""Never leave a patient in silence when the action server fails.

Rasa 3.6 waits up to 300 s for a custom action and, when the call fails, logs the
error and continues with no bot message. We shorten the timeout and, on failure,
answer with the domain response ``utter_action_unavailable`` (rendered by the
Rasa-side NLG, so it needs no action server); after a timeout a circuit breaker
(bot/rasa_ext/circuit_breaker.py) skips the action server for the rest of the turn
and a few seconds more. The timeout counts the action server's time only: while
Rasa's own event loop is too busy to read a prompt answer, the call waits on, up to a
hard cap (bot/rasa_ext/action_deadline.py, issue #18), so an overloaded Rasa doesn't
open the breaker against a healthy action server. ``action_session_start`` falls back
to Rasa's built-in session start (plus the greeting when the widget asked for it),
so the tracker stays valid.

Installed by the Rasa server's startup hook (bot.rasa_ext.startup); tested in
tests/rasa_ext/test_resilience.py.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import jsonschema
import rasa.core.actions.action as rasa_action
from rasa.core.actions.action import (
    ActionExecutionRejection,
    ActionSessionStart,
    RemoteAction,
    create_bot_utterance,
)
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import (
    ACTION_SESSION_START_NAME,
)
from rasa.shared.core.events import (
    Event,
    SlotSet,
)
from rasa.shared.exceptions import RasaException

from bot.config import get_settings
from bot.contract import DISCLAIMER_SLOT, GREETING_RESPONSE, session_start_requested
from bot.rasa_ext import action_deadline, circuit_breaker

logger = logging.getLogger(__name__)

FALLBACK_RESPONSE = "utter_action_unavailable"

_original_run = RemoteAction.run
_installed = False
# MESO_ACTION_TIMEOUT, set by install(): the action server's time before we give up
# (None: read from the settings). Rasa's DEFAULT_REQUEST_TIMEOUT becomes the hard cap.
action_timeout_seconds: float | None = None


async def _utter(nlg: Any, response: str, tracker: Any, output_channel: Any) -> list[Event]:
    message = await nlg.generate(response, tracker, output_channel.name())
    return [create_bot_utterance(message)] if message else []


def _answers_session_start_request(tracker: Any) -> bool:
    """Greet only the widget's explicit /session_start, as actions/session.py does."""
    return session_start_requested(event.as_dict() for event in reversed(tracker.events))


async def _run_with_fallback(
    self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> list[Event]:
    name = self.name()
    try:
        if not circuit_breaker.BREAKER.allows_call():
            # A timeout this turn or moments ago: don't make the patient wait again.
            raise RasaException(f"action server skipped for {name}: circuit breaker open")
        timeout = action_timeout_seconds
        if timeout is None:
            timeout = get_settings().action_timeout_seconds
        return await action_deadline.call(
            lambda: _original_run(self, output_channel, nlg, tracker, domain),
            timeout,
            hard_cap=rasa_action.DEFAULT_REQUEST_TIMEOUT,
        )
    except ActionExecutionRejection:
        raise  # a form's normal "I can't handle this" signal, not a failure
    except Exception as error:
        if circuit_breaker.is_timeout(error):
            circuit_breaker.BREAKER.record_timeout()
        if name.startswith("validate_"):
            raise  # the form action handles validation failures itself
        logger.error(
            "Custom action '%s' failed (%s: %s); replying with %s instead of silence.",
            name,
            type(error).__name__,
            error,
            FALLBACK_RESPONSE,
        )
        if name == ACTION_SESSION_START_NAME:
            events = await ActionSessionStart().run(output_channel, nlg, tracker, domain)
            greeting: list[Event] = []
            if _answers_session_start_request(tracker):
                greeting = await _utter(nlg, GREETING_RESPONSE, tracker, output_channel)
                greeting.append(SlotSet(DISCLAIMER_SLOT, True))
            # Keep the closing action_listen last, as the default action emits it.
            return events[:-1] + greeting + events[-1:]
        return await _utter(nlg, FALLBACK_RESPONSE, tracker, output_channel)


@lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    return jsonschema.validators.validator_for(schema)(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """Rasa's check of an action server response, with the validator built once.

    Rasa calls jsonschema.validate(), which re-checks the schema and builds a new
    validator for every response: about half of the Rasa server's CPU per message in
    our profile (docs/performance.md). Same schema, same errors.
    """
    try:
        _action_result_validator().validate(result)
        return True
    except jsonschema.ValidationError as error:
        # Rasa's wording, so logs read the same with or without the patch.
        error.message += (
            ". Failed to validate Action server response from API, make sure your "
            "response from the Action endpoint is valid. For more information about "
            f"the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise


def install(timeout_seconds: float) -> None:
    """Patch RemoteAction once per process: short timeout, reply on failure, cheap check."""
    global _installed, action_timeout_seconds
    action_timeout_seconds = timeout_seconds
    hard_cap = timeout_seconds * action_deadline.HARD_CAP_FACTOR
    rasa_action.DEFAULT_REQUEST_TIMEOUT = hard_cap  # type: ignore[assignment]
    if not _installed:
        RemoteAction.run = _run_with_fallback  # type: ignore[method-assign]
        RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
        _installed = True
    logger.info(
        "Custom actions time out after %.1f s of action-server time (%.0f s at most "
        "while Rasa is busy) and fall back to %s",
        timeout_seconds,
        hard_cap,
        FALLBACK_RESPONSE,
    )
