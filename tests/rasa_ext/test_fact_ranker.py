"""The fact ranker: which fact answers the message, with the intent ranking as a prior."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.contract import FACT_RANKING_KEY, QUESTION_PARTS_KEY, uncovered_fact
from bot.rasa_ext.fact_ranker import FactRanker, combine, fact_of, split_questions

FACT_EXAMPLES = {
    ("ask_aftercare", "aftercare.sauna_avoid"): [
        "can i go to the sauna after",
        "sauna the day after my session?",
        "is a steam room ok after the injections",
        "hot sauna after meso, yes or no",
    ],
    ("ask_aftercare", "aftercare.hair_washing_wait"): [
        "when can i wash my hair after",
        "how long before i can shampoo",
        "can i shower and wash my hair the same day",
        "when is it ok to wash my scalp again",
    ],
    ("ask_pain", "pain.mostly_painless"): [
        "does it hurt",
        "is it painful",
        "how much pain is it",
        "will the needles hurt a lot",
    ],
    ("ask_number_of_sessions", "number_of_sessions.minimum_ten"): [
        "how many sessions do i need",
        "how many treatments will it take",
        "is one session enough",
        "number of sessions needed?",
    ],
}
PLAIN_EXAMPLES = {"ask_price": ["how much is it", "price per session?"]}


def training_data() -> TrainingData:
    messages = [
        Message.build(text, intent, intent_metadata={"fact": fact})
        for (intent, fact), texts in FACT_EXAMPLES.items()
        for text in texts
    ]
    messages += [
        Message(data={TEXT: text, INTENT: intent})
        for intent, texts in PLAIN_EXAMPLES.items()
        for text in texts
    ]
    return TrainingData(messages)


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="fact_ranker")


def trained(storage: LocalModelStorage, config: dict | None = None) -> FactRanker:
    ranker = FactRanker.create(config or {}, storage, Resource("fact_ranker"), context())
    ranker.train(training_data())
    return ranker


def message(text: str, ranking: list[tuple[str, float]]) -> Message:
    intents = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    return Message(data={TEXT: text, INTENT: intents[0], INTENT_RANKING_KEY: intents})


def test_fact_of_reads_block_and_example_metadata() -> None:
    assert fact_of(Message.build("x", "ask_pain", intent_metadata={"fact": "pain.a"})) == "pain.a"
    assert fact_of(Message.build("x", "ask_pain", example_metadata={"fact": "pain.b"})) == "pain.b"
    assert fact_of(Message(data={TEXT: "x", INTENT: "ask_pain"})) is None


def test_ranks_the_fact_that_answers_not_the_topics_first(storage: LocalModelStorage) -> None:
    ranker = trained(storage)
    processed = ranker.process(
        [message("how soon can i wash my hair", [("ask_aftercare", 0.9), ("ask_pain", 0.1)])]
    )[0]
    ranking = processed.get(FACT_RANKING_KEY)
    assert ranking[0]["id"] == "aftercare.hair_washing_wait"
    assert ranking[0]["intent"] == "ask_aftercare"
    assert abs(sum(entry["score"] for entry in ranking) - 1.0) < 0.01  # all four facts


def test_a_wrong_topic_prior_still_finds_the_right_fact(storage: LocalModelStorage) -> None:
    ranker = trained(storage)
    # The classifier leans to aftercare, but the words are about the number of sessions.
    processed = ranker.process(
        [
            message(
                "how many sessions will i need",
                [("ask_aftercare", 0.6), ("ask_number_of_sessions", 0.3), ("ask_pain", 0.1)],
            )
        ]
    )[0]
    assert processed.get(FACT_RANKING_KEY)[0]["id"] == "number_of_sessions.minimum_ten"
    # ...and the intent follows the fact, with the answer intents' summed confidence.
    assert processed.get(INTENT)["name"] == "ask_number_of_sessions"
    assert processed.get(INTENT)["confidence"] == pytest.approx(1.0)


def test_the_prior_decides_between_facts_the_words_cannot_tell_apart() -> None:
    text_probabilities = {"aftercare.a": 0.5, "pain.a": 0.5}
    intents = {"aftercare.a": "ask_aftercare", "pain.a": "ask_pain"}
    scores = combine(
        text_probabilities, intents, [{"name": "ask_pain", "confidence": 0.9}], 0.5, 0.02
    )
    assert scores["pain.a"] > scores["aftercare.a"]
    assert sum(scores.values()) == pytest.approx(1.0)
    assert combine(text_probabilities, intents, [], 0.5, 0.02) == text_probabilities


def test_safety_intents_are_never_retargeted(storage: LocalModelStorage) -> None:
    ranker = trained(storage)
    for intent in ("report_urgent", "personal_medical"):
        processed = ranker.process(
            [message("does it hurt", [(intent, 0.4), ("ask_pain", 0.35), ("ask_aftercare", 0.25)])]
        )[0]
        assert processed.get(INTENT)["name"] == intent
        assert processed.get(FACT_RANKING_KEY)[0]["id"] == "pain.mostly_painless"


def test_two_questions_are_ranked_separately(storage: LocalModelStorage) -> None:
    ranker = trained(storage)
    processed = ranker.process(
        [
            message(
                "how many sessions do i need and does it hurt?",
                [("ask_number_of_sessions", 0.7), ("ask_pain", 0.3)],
            )
        ]
    )[0]
    parts = processed.get(QUESTION_PARTS_KEY)
    assert [part["text"] for part in parts] == ["how many sessions do i need", "does it hurt"]
    assert parts[1][FACT_RANKING_KEY][0]["id"] == "pain.mostly_painless"


def test_button_payloads_and_empty_texts_are_left_alone(storage: LocalModelStorage) -> None:
    ranker = trained(storage)
    payload = message("/ask_pain", [("ask_pain", 1.0)])
    empty = message("", [("nlu_fallback", 1.0)])
    ranker.process([payload, empty])
    assert payload.get(FACT_RANKING_KEY) is None
    assert empty.get(FACT_RANKING_KEY) is None


def test_persists_and_loads(storage: LocalModelStorage) -> None:
    trained(storage)
    loaded = FactRanker.load({}, storage, Resource("fact_ranker"), context())
    processed = loaded.process([message("sauna after?", [("ask_aftercare", 1.0)])])[0]
    assert processed.get(FACT_RANKING_KEY)[0]["id"] == "aftercare.sauna_avoid"


def test_a_missing_model_leaves_messages_unranked(storage: LocalModelStorage) -> None:
    loaded = FactRanker.load({}, storage, Resource("never_trained"), context())
    assert loaded.model is None
    processed = loaded.process([message("sauna after?", [("ask_aftercare", 1.0)])])[0]
    assert processed.get(FACT_RANKING_KEY) is None


def test_a_fact_with_examples_under_two_intents_is_refused(storage: LocalModelStorage) -> None:
    ranker = FactRanker.create({}, storage, Resource("fact_ranker"), context())
    data = TrainingData(
        [
            Message.build("sauna?", "ask_aftercare", intent_metadata={"fact": "aftercare.x"}),
            Message.build("hurt?", "ask_pain", intent_metadata={"fact": "aftercare.x"}),
            Message.build("pain?", "ask_pain", intent_metadata={"fact": "pain.y"}),
        ]
    )
    with pytest.raises(ValueError, match=r"aftercare\.x"):
        ranker.train(data)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("how many sessions do i need?", ["how many sessions do i need?"]),
        ("does it hurt? how long is a session", ["does it hurt", "how long is a session"]),
        ("can i go to the sauna and the gym after", ["can i go to the sauna and the gym after"]),
        ("sessions needed and is it painful", ["sessions needed", "is it painful"]),
        ("ok?", ["ok?"]),
    ],
)
def test_split_questions(text: str, parts: list[str]) -> None:
    assert split_questions(text) == parts


def test_metadata_key_is_rasas() -> None:
    assert METADATA == "metadata"


def test_a_logistics_intent_is_never_retargeted_to_an_answer(storage: LocalModelStorage) -> None:
    ranker = trained(storage)
    # ask_price starts with "ask_" but has no facts: it is a handoff, not an answer.
    processed = ranker.process(
        [message("price per session?", [("ask_price", 0.9), ("ask_number_of_sessions", 0.1)])]
    )[0]
    assert processed.get(INTENT) == {"name": "ask_price", "confidence": 0.9}


def test_an_uncovered_class_is_ranked_like_a_fact(storage: LocalModelStorage) -> None:
    # data/nlu/facts/uncovered.yml: questions of a topic that the articles don't answer.
    uncovered = [
        Message.build(text, "ask_aftercare", intent_metadata={"fact": uncovered_fact("aftercare")})
        for text in [
            "can i fly the day after my session",
            "is a plane ok after the injections",
            "can i wear a helmet after meso",
            "can i get a tattoo the week after",
        ]
    ]
    ranker = FactRanker.create({}, storage, Resource("fact_ranker"), context())
    ranker.train(TrainingData(training_data().training_examples + uncovered))
    prior = [("ask_aftercare", 0.8), ("ask_pain", 0.2)]
    flying = ranker.process([message("can i get on a plane the day after", prior)])[0]
    assert flying.get(FACT_RANKING_KEY)[0]["id"] == "uncovered.aftercare"
    assert flying.get(FACT_RANKING_KEY)[0]["intent"] == "ask_aftercare"
    sauna = ranker.process([message("can i go to the sauna the day after", prior)])[0]
    assert sauna.get(FACT_RANKING_KEY)[0]["id"] == "aftercare.sauna_avoid"
