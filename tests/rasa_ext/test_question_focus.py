"""The question inside a story: found, scored beside the whole message, and never allowed
to lower a safety intent."""

from __future__ import annotations

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.contract import FACT_RANKING_KEY, QUESTION_PARTS_KEY
from bot.rasa_ext.question_focus import focused_probabilities, question_focus
from tests.rasa_ext import test_fact_ranker, test_intent_ensemble

STORY = (
    "My dad and both my uncles lost their hair early and now I can see my scalp in the "
    "bathroom mirror, my girlfriend noticed it too. "
)


@pytest.mark.parametrize(
    ("text", "focus"),
    [
        (STORY + "How many sessions do I need?", "How many sessions do I need?"),
        # Typed without a question mark, the sentence still starts like a question.
        (STORY + "how many sessions do i need", "how many sessions do i need"),
        # A question first, then the story.
        ("Does it hurt? " + STORY, "Does it hurt?"),
        # Two questions in the story: both are kept, in order.
        (
            STORY + "Does it hurt? And how long is a session?",
            "Does it hurt? And how long is a session?",
        ),
        ("how many sessions do i need", None),  # one sentence
        ("ok. how many sessions?", None),  # too short to be a story
        (STORY.strip(), None),  # no question at all
        (
            "Does it hurt? How long does it take? Is it safe for someone like me?",
            None,
        ),  # all questions
    ],
)
def test_question_focus(text: str, focus: str | None) -> None:
    assert question_focus(text) == focus


def test_focused_probabilities_average_and_sum_to_one() -> None:
    mixed = focused_probabilities({"a": 0.8, "b": 0.2}, {"a": 0.0, "b": 1.0}, focus_weight=0.5)
    assert mixed == pytest.approx({"a": 0.4, "b": 0.6})


def test_a_protected_label_keeps_its_whole_message_score() -> None:
    whole = {"personal_medical": 0.6, "ask_pain": 0.4}
    focus = {"personal_medical": 0.0, "ask_pain": 1.0}
    mixed = focused_probabilities(whole, focus, 0.5, protected=["personal_medical"])
    # Unprotected it would fall to 0.3; kept at 0.6, then everything renormalised.
    assert mixed["personal_medical"] == pytest.approx(0.6 / 1.3)
    assert mixed["personal_medical"] > focused_probabilities(whole, focus, 0.5)["personal_medical"]


def test_the_intent_ensemble_hears_the_question_inside_a_story(storage: LocalModelStorage) -> None:
    ensemble = test_intent_ensemble.trained(storage)
    story = (
        "I go to the sauna every week and the gym most days, after work I wash my hair and "
        "go swimming with my friends. How much does the full course cost?"
    )
    without_focus = ensemble.scorer.predict_proba([story])[0]
    classes = list(ensemble.scorer.classes_)
    assert classes[int(without_focus.argmax())] == "ask_aftercare"  # the story's words win
    message = Message(data={TEXT: story, INTENT_RANKING_KEY: []})
    ensemble.process([message])
    assert message.get(INTENT)["name"] == "ask_price"


def test_the_ensemble_never_lowers_a_protected_intent_for_the_focus(
    storage: LocalModelStorage,
) -> None:
    # The test model knows no safety intent, so ask_aftercare stands in for one: the
    # story is about it, the question is not.
    ensemble = test_intent_ensemble.trained(storage)
    story = (
        "I go to the sauna every week and the gym most days, after work I wash my hair and "
        "go swimming with my friends. How much does the full course cost?"
    )
    unprotected = ensemble.probabilities(story)
    protected = ensemble.probabilities(story, protected=["ask_aftercare"])
    assert max(unprotected, key=unprotected.get) == "ask_price"
    assert max(protected, key=protected.get) == "ask_aftercare"


def test_the_fact_ranker_answers_the_storys_questions_not_the_story(
    storage: LocalModelStorage,
) -> None:
    ranker = test_fact_ranker.trained(storage)
    text = (
        "I love the sauna and the steam room, I go every weekend with my friends after we "
        "wash our hair at the gym. How many sessions do I need? And does it hurt?"
    )
    processed = ranker.process(
        [test_fact_ranker.message(text, [("ask_aftercare", 0.5), ("ask_number_of_sessions", 0.5)])]
    )[0]
    assert processed.get(FACT_RANKING_KEY)[0]["id"] == "number_of_sessions.minimum_ten"
    parts = processed.get(QUESTION_PARTS_KEY)
    assert [part["text"] for part in parts] == ["How many sessions do I need", "And does it hurt"]
