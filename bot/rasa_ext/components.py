"""NLU pipeline components that guard against overlong messages.

A 100 KB paste would make DIET's transformer and the char n-gram featurizer do a lot
of pointless work. ``InputLengthGuard`` (first in the pipeline) trims the text that
the NLU components see and remembers the original length; ``InputLengthVerdict``
(last in the pipeline) then replaces the prediction with ``message_too_long``, whose
rule answers with a polite "please keep it shorter". The tracker keeps the text the
patient sent, so nothing is lost.
"""

from __future__ import annotations

import os
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

TOO_LONG_INTENT = "message_too_long"
ORIGINAL_LENGTH_KEY = "meso_original_length"
DEFAULT_MAX_CHARS = 1000


def _max_chars(config: dict[str, Any]) -> int:
    # The environment wins so a clinic can change the limit without retraining.
    return int(
        os.environ.get("MESO_MAX_MESSAGE_CHARS") or config.get("max_chars") or DEFAULT_MAX_CHARS
    )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class InputLengthGuard(GraphComponent):
    """Trims overlong texts before tokenization and records their real length."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"max_chars": DEFAULT_MAX_CHARS}

    def __init__(self, config: dict[str, Any]) -> None:
        self.max_chars = _max_chars(config)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputLengthGuard:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and len(text) > self.max_chars:
                message.set(ORIGINAL_LENGTH_KEY, len(text))
                message.set(TEXT, text[: self.max_chars])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InputLengthVerdict(GraphComponent):
    """Overrides the prediction for messages the guard marked as too long."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputLengthVerdict:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if message.get(ORIGINAL_LENGTH_KEY):
                verdict = {"name": TOO_LONG_INTENT, "confidence": 1.0}
                message.set(INTENT, verdict, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [verdict], add_to_output=True)
                message.set(ENTITIES, [], add_to_output=True)
        return messages
