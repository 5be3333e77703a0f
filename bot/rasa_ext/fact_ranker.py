"""Ranks the fact-base facts against a message: which fact answers the question.

An intent names a topic (``ask_aftercare``); a topic holds several facts, and a
patient asks about one of them. ``FactRanker`` learns from the example questions of
each fact (``data/nlu/facts/*.yml``: NLU blocks whose ``metadata.fact`` names the fact)
with a TF-IDF logistic regression over fact ids, and combines that with the intent
ranking, which was learnt from all of ``data/nlu``:

    score(fact) ∝ p(fact | text) ** (1 - w) * (p(ask_<topic> | text) + floor) ** w

The intent ranking is a prior, not a filter: a fact of a topic the intent classifier
ranked low can still win when its own examples match the words. It lives in the NLU
pipeline, not in the action server, so the ranking and its scores are part of the
parse data: stored with the message in the tracker, shown in the staff app's
transcript, returned by ``rasa shell nlu`` (docs/architecture.md, "Fact ranking").

It adds to the parse data:

- ``fact_ranking``: the best facts, ``[{"id", "intent", "score", "match"}]``, where
  ``score`` is the combined score (the facts' scores sum to 1) and ``match`` the text
  model's own probability;
- ``question_parts``: for a message with two questions ("how many sessions and does
  it hurt?"), the other questions with their own ranking, text model only.

When the intent classifier is torn between answer intents, the intent becomes the
topic of the best fact, with the answer intents' summed confidence: the patient
clearly asked an informational question, so "sorry, I didn't get that" would be
wrong. Safety intents are never changed.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.pipeline import Pipeline

from bot.contract import FACT_RANKING_KEY, QUESTION_PARTS_KEY, SAFETY_INTENTS, TOO_LONG_INTENT
from bot.rasa_ext.base import TextModelComponent
from bot.rasa_ext.question_focus import question_focus

FACT_METADATA_KEY = "fact"
# Never re-targeted: a safety route always wins over an answer.
PROTECTED_INTENTS = frozenset({*SAFETY_INTENTS, TOO_LONG_INTENT})

# A second question starts after "?" or after "and"/"also"/"plus" followed by a
# question word: "how many sessions and does it hurt?".
_QUESTION_WORDS = (
    r"(?:does|do|is|are|can|could|will|would|should|how|what|whats|when|where|which|why|"
    r"any|r|am|shall|may|u)"
)
_SPLIT = re.compile(
    rf"\?+\s*(?=\S)|[.;!]\s+(?=(?:and\s+|also\s+)?{_QUESTION_WORDS}\b)"
    rf"|,?\s+(?:and|also|plus|&|n)\s+(?:also\s+)?(?={_QUESTION_WORDS}\b)",
    re.IGNORECASE,
)
MIN_PART_WORDS = 2


def split_questions(text: str) -> list[str]:
    """The message's questions, in order; a single question gives a one-item list.

    A fragment too short to be a question ("ok? how long is it") keeps the message whole.
    """
    parts = [part.strip(" ,.?!") for part in _SPLIT.split(text)]
    parts = [part for part in parts if part]
    if len(parts) < 2 or any(len(re.findall(r"\w+", part)) < MIN_PART_WORDS for part in parts):
        return [text]
    return parts


def combine(
    text_probabilities: dict[str, float],
    fact_intents: dict[str, str],
    intent_ranking: list[dict[str, Any]],
    prior_weight: float,
    prior_floor: float,
) -> dict[str, float]:
    """Fact scores from the text model and the intent prior; they sum to 1.

    With no intent ranking (a question part) the text model's probabilities stand.
    """
    if not intent_ranking:
        return dict(text_probabilities)
    intents = {entry["name"]: float(entry["confidence"]) for entry in intent_ranking}
    raw = {
        fact: (probability ** (1.0 - prior_weight))
        * ((intents.get(fact_intents[fact], 0.0) + prior_floor) ** prior_weight)
        for fact, probability in text_probabilities.items()
    }
    total = sum(raw.values()) or 1.0
    return {fact: value / total for fact, value in raw.items()}


def fact_of(example: Message) -> str | None:
    """The fact id an NLU example was written for (block metadata ``fact``)."""
    metadata = example.get(METADATA) or {}
    for level in ("example", "intent"):
        value = (metadata.get(level) or {}) if isinstance(metadata, dict) else {}
        if isinstance(value, dict) and isinstance(value.get(FACT_METADATA_KEY), str):
            return value[FACT_METADATA_KEY]
    return None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class FactRanker(TextModelComponent):
    """Adds ``fact_ranking`` and ``question_parts`` to the parse data."""

    MODEL_FILE = "fact_ranker.skops"
    UNLOADED = "answers fall back to topics."

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Chosen by cross-validation on data/nlu/facts (docs/evaluation.md).
            "C": 20.0,
            # An iteration budget, not a safety cap: fully converged (about 75 iterations)
            # and stopped at 50 or 30 ranked the same in 5-fold CV (0.884, 0.884, 0.884;
            # 2026-12-02, docs/performance.md), and each iteration is a full pass.
            "max_iter": 50,
            "random_state": 2024,
            "prior_weight": 0.5,
            "prior_floor": 0.02,
            "ranking_length": 10,
            # The best fact's score from which a torn answer intent is re-targeted.
            "retarget_threshold": 0.1,
            # The question sentence's share when a story surrounds it
            # (bot/rasa_ext/question_focus.py; chosen on a dev set, docs/evaluation.md).
            "focus_weight": 0.5,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Pipeline | None = None,
        fact_intents: dict[str, str] | None = None,
    ) -> None:
        super().__init__(config, model_storage, resource, model)
        self.fact_intents = fact_intents or {}

    # -- training ----------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        texts: list[str] = []
        facts: list[str] = []
        fact_intents: dict[str, str] = {}
        for example in training_data.intent_examples:
            fact = fact_of(example)
            if fact is None or not example.get(TEXT):
                continue
            intent = example.get(INTENT)
            if fact_intents.setdefault(fact, intent) != intent:
                raise ValueError(
                    f"fact {fact} has examples under {fact_intents[fact]} and {intent}; "
                    "a fact's examples belong to the intent of its topic"
                )
            texts.append(example.get(TEXT))
            facts.append(fact)
        self.fact_intents = fact_intents
        return self.fit(texts, facts)

    def saved(self) -> dict[str, Any]:
        return {"model": self.model, "fact_intents": self.fact_intents}

    @classmethod
    def from_saved(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource, saved: Any
    ) -> FactRanker:
        return cls(config, model_storage, resource, saved["model"], dict(saved["fact_intents"]))

    # -- inference ---------------------------------------------------------------

    def rank(self, text: str, intent_ranking: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The best facts for ``text``, best first."""
        assert self.scorer is not None
        probabilities = self.probabilities(text)
        scores = combine(
            probabilities,
            self.fact_intents,
            intent_ranking,
            self.config["prior_weight"],
            self.config["prior_floor"],
        )
        best = sorted(scores, key=lambda fact: (-scores[fact], fact))
        return [
            {
                "id": fact,
                "intent": self.fact_intents[fact],
                "score": round(scores[fact], 4),
                "match": round(probabilities[fact], 4),
            }
            for fact in best[: self.config["ranking_length"]]
        ]

    def process(self, messages: list[Message]) -> list[Message]:
        if self.scorer is None:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip() or text.startswith("/"):
                continue  # button payloads name their intent
            ranking = self.rank(text, message.get(INTENT_RANKING_KEY) or [])
            message.set(FACT_RANKING_KEY, ranking, add_to_output=True)
            # The questions of a story, not the story itself, are what to answer.
            parts = split_questions(question_focus(text) or text)
            if len(parts) > 1:
                message.set(
                    QUESTION_PARTS_KEY,
                    [{"text": part, FACT_RANKING_KEY: self.rank(part, [])[:3]} for part in parts],
                    add_to_output=True,
                )
            self._retarget(message, ranking)
        return messages

    def _retarget(self, message: Message, ranking: list[dict[str, Any]]) -> None:
        """Make the intent the best fact's topic when the classifier split its vote.

        Only between answer intents (the intents that have facts): a logistics intent
        such as ``ask_price`` is never an answer, whatever its name.
        """
        intent = message.get(INTENT) or {}
        name = intent.get("name")
        answer_intents = set(self.fact_intents.values())
        if not ranking or name in PROTECTED_INTENTS or name not in answer_intents:
            return
        best = ranking[0]
        if best["score"] < self.config["retarget_threshold"]:
            return
        intent_ranking = message.get(INTENT_RANKING_KEY) or []
        answer_mass = sum(
            float(entry["confidence"])
            for entry in intent_ranking
            if entry["name"] in answer_intents
        )
        confidence = max(float(intent.get("confidence") or 0.0), answer_mass)
        verdict = {"name": best["intent"], "confidence": confidence}
        rest = [entry for entry in intent_ranking if entry["name"] != best["intent"]]
        message.set(INTENT, verdict, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [verdict, *rest], add_to_output=True)
