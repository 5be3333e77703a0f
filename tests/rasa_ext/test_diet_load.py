"""bot.rasa_ext.diet_load: the served model predicts exactly what Rasa's own load
predicts, with DIET loaded without its one-example training step."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.utils.tensorflow.models import RasaModel

from bot import PROJECT_ROOT
from bot.rasa_ext import diet_load
from bot.training import is_up_to_date, model_path, train

MESSAGES = [
    "hi",
    "how many sessions do I need?",
    "can I go to the sauna after?",
    "how much does it cost in Berlin?",
    "I am allergic to biotin",
    "my scalp is bleeding a lot",
    "quiero saber el precio",
    "thanks, bye",
]


def parses(agent: Agent) -> list[dict[str, Any]]:
    results = []
    for text in MESSAGES:
        parsed = asyncio.run(agent.parse_message(text))
        results.append(
            {
                "ranking": [
                    (item["name"], round(item["confidence"], 6))
                    for item in parsed.get("intent_ranking", [])
                ],
                "entities": [(e["entity"], e["value"]) for e in parsed.get("entities", [])],
            }
        )
    return results


@pytest.mark.slow
def test_the_served_model_predicts_what_rasas_load_predicts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not is_up_to_date(PROJECT_ROOT) and train(PROJECT_ROOT) != 0:
        pytest.fail("rasa train failed; run `make train` to see why")
    model = str(model_path(PROJECT_ROOT))
    monkeypatch.chdir(PROJECT_ROOT)  # config.yml names the spaCy pipeline relatively
    expected = parses(Agent.load(model))

    calls: list[str] = []
    original = diet_load.load_for_prediction

    def counted(cls: type, *args: Any, **kwargs: Any) -> Any:
        calls.append(cls.__name__)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(diet_load, "_original_load", RasaModel.load.__func__)
    monkeypatch.setattr(RasaModel, "load", classmethod(counted))
    assert parses(Agent.load(model)) == expected
    assert calls == ["DIET"]
