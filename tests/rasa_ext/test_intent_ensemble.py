"""The intent ensemble: DIET's ranking blended with a TF-IDF logistic regression."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_ext.intent_ensemble import LinearIntentEnsemble, blend

EXAMPLES = {
    "ask_aftercare": [
        "can i go to the sauna after",
        "sauna after the session?",
        "gym the day after meso",
        "when can i wash my hair after",
        "is swimming ok after the injections",
    ],
    "ask_price": [
        "how much is it",
        "how much does a session cost",
        "price per session?",
        "whats the cost of the full course",
        "is it expensive",
    ],
}


def training_data() -> TrainingData:
    return TrainingData(
        [
            Message(data={TEXT: text, INTENT: intent})
            for intent, texts in EXAMPLES.items()
            for text in texts
        ]
    )


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="ensemble")


def trained(storage: LocalModelStorage, config: dict | None = None) -> LinearIntentEnsemble:
    component = LinearIntentEnsemble.create(config or {}, storage, Resource("ensemble"), context())
    component.train(training_data())
    return component


def diet_says(text: str, intent: str, confidence: float) -> Message:
    ranking = [{"name": intent, "confidence": confidence}]
    return Message(data={TEXT: text, INTENT: ranking[0], INTENT_RANKING_KEY: ranking})


def test_blend_weights_both_rankings_and_counts_missing_intents_as_zero() -> None:
    ranking = blend(
        [{"name": "a", "confidence": 1.0}],
        {"a": 0.0, "b": 1.0},
        diet_weight=0.3,
        ranking_length=10,
    )
    assert ranking == [{"name": "b", "confidence": 0.7}, {"name": "a", "confidence": 0.3}]


def test_blend_keeps_only_the_ranking_length() -> None:
    probabilities = {f"intent_{index}": index / 100 for index in range(20)}
    assert len(blend([], probabilities, diet_weight=0.3, ranking_length=10)) == 10


def test_linear_model_overrules_an_unsure_diet(storage: LocalModelStorage) -> None:
    message = diet_says("how much for one session", "ask_aftercare", 0.4)
    trained(storage).process([message])
    assert message.get(INTENT)["name"] == "ask_price"
    ranking = message.get(INTENT_RANKING_KEY)
    assert [entry["name"] for entry in ranking] == ["ask_price", "ask_aftercare"]
    # 0.3 x DIET's 0.4 plus 0.7 x the linear model's probabilities, which sum to 1.
    total = sum(entry["confidence"] for entry in ranking)
    assert total == pytest.approx(0.3 * 0.4 + 0.7, abs=1e-6)


def test_diet_alone_decides_when_its_weight_is_one(storage: LocalModelStorage) -> None:
    message = diet_says("how much for one session", "ask_aftercare", 0.4)
    trained(storage, {"diet_weight": 1.0}).process([message])
    assert message.get(INTENT) == {"name": "ask_aftercare", "confidence": 0.4}


def test_persisted_model_loads_and_predicts_the_same(storage: LocalModelStorage) -> None:
    original = diet_says("sauna after?", "ask_price", 0.2)
    trained(storage).process([original])
    loaded = LinearIntentEnsemble.load({}, storage, Resource("ensemble"), context())
    again = diet_says("sauna after?", "ask_price", 0.2)
    loaded.process([again])
    assert again.get(INTENT_RANKING_KEY) == original.get(INTENT_RANKING_KEY)
    assert again.get(INTENT)["name"] == "ask_aftercare"


def test_missing_model_leaves_diets_intent_alone(storage: LocalModelStorage) -> None:
    component = LinearIntentEnsemble.load({}, storage, Resource("never-trained"), context())
    message = diet_says("sauna after?", "ask_price", 0.2)
    component.process([message])
    assert message.get(INTENT) == {"name": "ask_price", "confidence": 0.2}


def test_messages_without_text_are_left_alone(storage: LocalModelStorage) -> None:
    message = Message(data={TEXT: ""})
    trained(storage).process([message])
    assert message.get(INTENT) is None
