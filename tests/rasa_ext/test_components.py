"""The NLU input-length guard: overlong messages become `message_too_long`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.config import get_settings
from bot.rasa_ext.components import (
    ORIGINAL_LENGTH_KEY,
    TOO_LONG_INTENT,
    InputLengthGuard,
    InputLengthVerdict,
    PersonalConditionGuard,
    UrgentRedFlagGuard,
)


@pytest.fixture
def limit_50(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MESO_MAX_MESSAGE_CHARS", "50")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("limit_50")
def test_short_messages_pass_untouched() -> None:
    message = Message(data={TEXT: "how many sessions?"})
    InputLengthGuard().process([message])
    InputLengthVerdict().process([message])
    assert message.get(TEXT) == "how many sessions?"
    assert message.get(ORIGINAL_LENGTH_KEY) is None
    assert message.get(INTENT) is None


@pytest.mark.usefixtures("limit_50")
def test_long_messages_are_trimmed_before_nlu_and_get_the_too_long_intent() -> None:
    message = Message(data={TEXT: "sauna " * 100})
    InputLengthGuard().process([message])
    assert len(message.get(TEXT)) == 50
    assert message.get(ORIGINAL_LENGTH_KEY) == 600
    message.set(INTENT, {"name": "ask_aftercare", "confidence": 0.9})  # what DIET would say
    InputLengthVerdict().process([message])
    assert message.get(INTENT) == {"name": TOO_LONG_INTENT, "confidence": 1.0}


@pytest.mark.usefixtures("limit_50")
def test_the_limit_is_the_message_limit_setting() -> None:
    # MESO_MAX_MESSAGE_CHARS, the value the channels also cut stored texts from.
    assert InputLengthGuard({"max_chars": 1000}).max_chars == 50 == get_settings().max_message_chars


def classified(text: str, intent: str) -> Message:
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": 0.6})
    UrgentRedFlagGuard().process([message])
    return message


@pytest.mark.parametrize(
    "text",
    [
        "my husband went unconscious after his meso",
        "cant breathe properly since the injections",
        "her lips are swelling up fast",
        "there's pus coming out and I have a fever",
        "the spot turned black overnight",
    ],
)
def test_red_flags_reach_the_urgent_flow_whatever_the_classifier_said(text: str) -> None:
    assert classified(text, "deny").get(INTENT)["name"] == "report_urgent"
    assert classified(text, "nlu_fallback").get(INTENT)["name"] == "report_urgent"


@pytest.mark.parametrize(
    "text",
    ["can mesotherapy make you faint?", "can meso trigger an asthma attack or a seizure?"],
)
def test_general_questions_about_symptoms_stay_answers(text: str) -> None:
    assert classified(text, "ask_side_effects").get(INTENT)["name"] == "ask_side_effects"


def test_personal_history_is_not_an_emergency_but_a_report_after_treatment_is() -> None:
    history = classified("i faint when i see needles, is it safe for me", "personal_medical")
    assert history.get(INTENT)["name"] == "personal_medical"
    report = classified("I fainted twice since my session yesterday", "personal_medical")
    assert report.get(INTENT)["name"] == "report_urgent"


def test_button_payloads_and_plain_messages_are_untouched() -> None:
    assert classified("/deny", "deny").get(INTENT)["name"] == "deny"
    assert classified("how many sessions do I need?", "ask_number_of_sessions").get(INTENT)[
        "name"
    ] == ("ask_number_of_sessions")


@pytest.mark.parametrize(
    "text",
    [
        "so dizzy i cant stand up",
        "worst headache of my life came on suddenly",
        "i think i'm having anaphylaxis",
        "having a really bad asthma attack now",
        "my son is having a seizure",
    ],
)
def test_more_red_flags(text: str) -> None:
    assert classified(text, "out_of_scope").get(INTENT)["name"] == "report_urgent"


def test_a_general_intent_reporting_what_happens_now_is_urgent() -> None:
    reported = classified("worst headache of my life right after the session", "ask_side_effects")
    asked = classified("can it give you the worst headache after the session?", "ask_side_effects")
    assert reported.get(INTENT)["name"] == "report_urgent"
    assert asked.get(INTENT)["name"] == "ask_side_effects"


@pytest.mark.parametrize(
    "text",
    [
        "my dog's face is swollen after a bee sting",
        "my hamster has pus coming out of its eye",
        "my tomato plant leaves are turning black",
        "in the movie the girl's throat closes up, is that realistic?",
        "my goldfsh has a swolen belly and is floating sideways",
        "my hamstr is bleeding from its paw, what to do",
    ],
)
def test_no_human_emergency_is_not_urgent(text: str) -> None:
    # Even when the classifier says urgent: nobody to send to the emergency services.
    assert classified(text, "report_urgent").get(INTENT)["name"] == "out_of_scope"
    assert classified(text, "out_of_scope").get(INTENT)["name"] == "out_of_scope"


@pytest.mark.parametrize(
    "text",
    [
        "my dog bit me and now my face is swelling",
        "my son was bitten by a dog and his lips are swelling",
        "what makes people faint? my mum just fainted",
    ],
)
def test_a_person_in_the_message_keeps_it_urgent(text: str) -> None:
    assert classified(text, "report_urgent").get(INTENT)["name"] == "report_urgent"


@pytest.mark.parametrize(
    "text",
    [
        "my dog bit me and now my face is swelling",
        "fell out of a tree, now cant breathe properly",
        "ate fish at lunch and now throat closing up",
    ],
)
def test_a_red_flag_with_an_animal_or_food_word_still_escalates(text: str) -> None:
    # Whatever the classifier said: a person's emergency is not hidden by the word "dog".
    assert classified(text, "out_of_scope").get(INTENT)["name"] == "report_urgent"


def test_a_typo_never_turns_an_english_word_into_an_animal() -> None:
    from bot.rasa_ext.components import mentions_no_patient

    assert mentions_no_patient("my goldfsh is floating")
    assert not mentions_no_patient("we had plans to go out but now she cant breathe")


def with_entity(text: str, intent: str, kind: str, value: str) -> Message:
    message = Message(
        data={
            TEXT: text,
            INTENT: {"name": intent, "confidence": 0.8},
            "entities": [{"entity": kind, "value": value, "start": 0, "end": 1}],
        }
    )
    PersonalConditionGuard().process([message])
    return message


def test_the_patients_own_condition_goes_to_the_personal_medical_handoff() -> None:
    # DIET tagged "allergic" as a side effect; the value is a condition all the same.
    own = with_entity(
        "i'm allergic to lidocaine, can you do it without anaesthetic",
        "ask_pain",
        "side_effect",
        "allergy",
    )
    assert own.get(INTENT)["name"] == "personal_medical"


def test_general_questions_about_a_condition_stay_answers() -> None:
    general = with_entity(
        "can pregnant women have meso", "ask_contraindications", "condition", "pregnancy"
    )
    no_condition = with_entity(
        "i'm wondering if the sauna is ok", "ask_aftercare", "activity", "sauna"
    )
    assert general.get(INTENT)["name"] == "ask_contraindications"
    assert no_condition.get(INTENT)["name"] == "ask_aftercare"


def test_an_urgent_verdict_is_not_touched_by_the_condition_guard() -> None:
    urgent = with_entity(
        "i'm pregnant and my face is swelling", "report_urgent", "condition", "pregnancy"
    )
    assert urgent.get(INTENT)["name"] == "report_urgent"
