"""The NLU input-length guard: overlong messages become `message_too_long`."""

from __future__ import annotations

from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_ext.components import (
    ORIGINAL_LENGTH_KEY,
    TOO_LONG_INTENT,
    InputLengthGuard,
    InputLengthVerdict,
)


def test_short_messages_pass_untouched() -> None:
    message = Message(data={TEXT: "how many sessions?"})
    InputLengthGuard({"max_chars": 50}).process([message])
    InputLengthVerdict().process([message])
    assert message.get(TEXT) == "how many sessions?"
    assert message.get(ORIGINAL_LENGTH_KEY) is None
    assert message.get(INTENT) is None


def test_long_messages_are_trimmed_before_nlu_and_get_the_too_long_intent() -> None:
    message = Message(data={TEXT: "sauna " * 100})
    InputLengthGuard({"max_chars": 50}).process([message])
    assert len(message.get(TEXT)) == 50
    assert message.get(ORIGINAL_LENGTH_KEY) == 600
    message.set(INTENT, {"name": "ask_aftercare", "confidence": 0.9})  # what DIET would say
    InputLengthVerdict().process([message])
    assert message.get(INTENT) == {"name": TOO_LONG_INTENT, "confidence": 1.0}


def test_environment_overrides_the_configured_limit(monkeypatch) -> None:
    monkeypatch.setenv("MESO_MAX_MESSAGE_CHARS", "10")
    assert InputLengthGuard({"max_chars": 50}).max_chars == 10
