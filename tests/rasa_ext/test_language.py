"""The language detector: other languages are noticed, phone-typed English is not."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.contract import LANGUAGE_KEY
from bot.rasa_ext.language import OTHER_LANGUAGE_INTENT, LanguageDetector, detect_language


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("hola, ¿cuántas sesiones necesito?", "es"),
        ("bonjour, est-ce que ça fait mal ?", "fr"),
        ("ist die behandlung schmerzhaft", "de"),
        ("quanto costa una seduta", "it"),
        ("olá, quantas sessões preciso?", "pt"),
    ],
)
def test_other_languages_are_detected(text: str, code: str) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "hw mny sesions do i need",
        "is possible wash hair same day after?",
        "can i go gym aftr",  # lingua alone reads this as German
        "does meso hurt tbh",
        "prp vs meso",
        "hola",  # one word: a greeting, not a question to lose
        "sauna?",
        "",
    ],
)
def test_english_and_one_word_messages_are_left_alone(text: str) -> None:
    assert detect_language(text) is None


def message(text: str, intent: str) -> Message:
    verdict = {"name": intent, "confidence": 0.6}
    return Message(data={TEXT: text, INTENT: verdict, INTENT_RANKING_KEY: [verdict]})


def test_the_component_sets_the_intent_entity_and_parse_key() -> None:
    processed = LanguageDetector({}).process([message("¿cuántas sesiones necesito?", "greet")])[0]
    assert processed.get(INTENT) == {"name": OTHER_LANGUAGE_INTENT, "confidence": 1.0}
    assert processed.get(INTENT_RANKING_KEY)[1]["name"] == "greet"
    [entity] = processed.get(ENTITIES)
    assert (entity["entity"], entity["value"]) == ("language", "es")
    assert processed.get(LANGUAGE_KEY) == "es"


def test_an_urgent_message_and_button_payloads_keep_their_intent() -> None:
    urgent = message("je ne peux pas respirer après la séance", "report_urgent")
    payload = message("/ask_pain", "ask_pain")
    LanguageDetector({}).process([urgent, payload])
    assert urgent.get(INTENT)["name"] == "report_urgent"
    assert payload.get(INTENT)["name"] == "ask_pain"


def test_close_languages_splitting_the_vote_are_still_not_english() -> None:
    assert detect_language("olá, quanto tempo dura o tratamento de mesoterapia capilar?") in {
        "pt",
        "es",
        "it",
    }


def test_keyboard_mashing_is_no_language() -> None:
    assert detect_language("asdkjh qwe zzzz") is None


def test_english_words_beyond_the_short_list_count() -> None:
    assert detect_language("cellulite as well?") is None
    assert detect_language("what about the painful bits, are they worse") is None


def test_the_word_table_and_models_load_with_the_component_not_on_a_first_message() -> None:
    from bot.rasa_ext.language import _detector, english_vocabulary

    english_vocabulary.cache_clear()
    _detector.cache_clear()
    LanguageDetector({})
    assert english_vocabulary.cache_info().currsize == 1
    assert _detector.cache_info().currsize == 1
