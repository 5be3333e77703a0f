"""Notices a message written in another language, so its question isn't lost.

"hola, ¿cuántas sesiones necesito?" used to read as a greeting. ``LanguageDetector``
asks lingua (its language models ship inside the PyPI package, nothing is
downloaded) which language the message is in. A message that lingua confidently puts
in one of the configured languages, and that has almost no English words in it,
becomes the ``other_language`` intent with a ``language`` entity (ISO 639-1 code).
The rule for that intent answers in that language where the domain has a reviewed
sentence for it, and in English: the assistant answers in English for now, gives the
emergency number, and offers the clinic team.

Phone-typed English fools a language model on short texts ("can i go gym aftr" reads
as German to lingua's low-accuracy mode), so English words decide first.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.contract import LANGUAGE_ENTITY, LANGUAGE_KEY, OTHER_LANGUAGE_INTENT
from bot.rasa_ext.base import StatelessComponent
from bot.rasa_ext.components import URGENT_INTENT, override_intent

DEFAULT_LANGUAGES = ("es", "fr", "de", "it", "pt", "nl", "pl", "tr", "ro", "ru", "ar")

# Common English words that no configured language also uses as a common word
# ("die", "me", "no", "a", "in" are left out), plus the words patients use here.
ENGLISH_WORDS = frozenset(
    """
    i im i'm you u your ur my mine we our they he she his her it its it's is are was were
    am be been being do does did doing dont don't doesnt can cant can't could should would
    will wont won't shall may might must have has had how what whats what's when where
    which who whom why the an and or but if then than that this these those there here with
    without for from about after before during since until into onto at by of to too also
    just only very really much many more most some any every all each other another get got
    go going goes went come take make want need know think feel look see say tell ask help
    please pls plz thanks thank thx ty yes yeah yep ok okay hi hey hello bye not never
    always often sometimes again still yet soon now today tomorrow yesterday week weeks
    month months year years day days hour hours time first next last long hair scalp head
    bald balding loss losing thinning session sessions sesh treatment meso mesotherapy
    injection injections needle needles doctor nurse clinic work works hurt hurts pain safe
    side effects effect results result wash shampoo sauna gym sun swim swimming shower
    alcohol drink exercise normal usually worth cost price book appointment appt like much
    does dose dosage men women woman man people someone
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# A few of each language's commonest words: a real sentence almost always has one (or a
# letter English doesn't use); keyboard mashing ("asdkjh qwe") has neither.
FUNCTION_WORDS = frozenset(
    """
    el la los las de del que y en un una es por para con como cómo qué cuánto cuántas
    cuántos hola puedo tengo mi mis se le les lo no sí muy más pero después antes
    le les des du et est une je pas pour avec dans ce cette qui quoi combien bonjour
    est-ce ça mon ma mes après avant peut faire
    der die das und ist ich nicht ein eine mit für wie viel viele wann nach kann
    habe mein meine haare tag guten
    il lo gli di che è per con come quanto quante ciao dopo posso sono ho mio mia
    o os as um uma é com como quanto quantas olá posso tenho meu minha depois não
    het een en van ik is wat hoe veel na mijn niet
    jak ile czy jest nie mam po się
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


@lru_cache(maxsize=1)
def english_vocabulary() -> frozenset[str]:
    """English word forms: spacy-lookups-data's English lemma table plus our list.

    The words other languages use most (``FUNCTION_WORDS``) are left out, so "die" or
    "para" don't make a German or Spanish sentence look English.
    """
    import spacy_lookups_data
    import srsly

    table = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    lemmas: dict[str, str] = srsly.read_gzip_json(table)
    return frozenset((set(lemmas) | set(lemmas.values()) | ENGLISH_WORDS) - FUNCTION_WORDS)


def english_share(text: str) -> float:
    words = _WORD.findall(text.lower())
    if not words:
        return 1.0
    vocabulary = english_vocabulary()
    return sum(word in vocabulary for word in words) / len(words)


@lru_cache(maxsize=4)
def _detector(languages: tuple[str, ...]) -> Any:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    codes = {"en", *languages}
    chosen = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes]
    # Low-accuracy mode: trigram models only, about 20 MB instead of several hundred.
    # Preloaded, so that the first patient message doesn't wait for the models.
    builder = LanguageDetectorBuilder.from_languages(*chosen).with_low_accuracy_mode()
    return builder.with_preloaded_language_models().build()


def detect_language(
    text: str,
    languages: tuple[str, ...] = DEFAULT_LANGUAGES,
    min_confidence: float = 0.9,
    min_words: int = 2,
    max_english_share: float = 0.25,
) -> str | None:
    """The ISO 639-1 code of a non-English message, or None (English, or unsure)."""
    words = _WORD.findall(text)
    if len(words) < min_words or english_share(text) > max_english_share:
        return None
    lowered = [word.lower() for word in words]
    if not any(word in FUNCTION_WORDS for word in lowered) and text.isascii():
        return None  # no word of any language: keyboard mashing, not a question
    values = _detector(tuple(sorted(languages))).compute_language_confidence_values(text)
    if not values:
        return None
    english = sum(value.value for value in values if value.language.iso_code_639_1.name == "EN")
    best = values[0]
    code = best.language.iso_code_639_1.name.lower()
    # Close languages (pt, es, it) share the confidence; what matters is "not English".
    if code == "en" or 1.0 - english < min_confidence:
        return None
    return code


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LanguageDetector(StatelessComponent):
    """Routes messages in another language to ``other_language`` (runs after the classifiers)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "languages": list(DEFAULT_LANGUAGES),
            "min_confidence": 0.9,
            "min_words": 2,
            "max_english_share": 0.25,
        }

    def __init__(self, config: dict[str, Any] | None = None, **storage: Any) -> None:
        super().__init__(config, **storage)
        # Load the word table and the language models with the model, not on the first
        # patient message (about 0.1 s).
        english_vocabulary()
        _detector(tuple(sorted(self.config["languages"])))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip() or text.startswith("/"):
                continue
            if (message.get(INTENT) or {}).get("name") == URGENT_INTENT:
                continue  # an emergency recognised in English keeps its advice
            code = detect_language(
                text,
                tuple(self.config["languages"]),
                self.config["min_confidence"],
                self.config["min_words"],
                self.config["max_english_share"],
            )
            if code is None:
                continue
            entity = {
                "entity": LANGUAGE_ENTITY,
                "value": code,
                "start": 0,
                "end": len(text),
                "extractor": type(self).__name__,
            }
            override_intent(message, OTHER_LANGUAGE_INTENT)
            message.set(ENTITIES, [entity], add_to_output=True)
            message.set(LANGUAGE_KEY, code, add_to_output=True)
        return messages
