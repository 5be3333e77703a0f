"""NLU pipeline components that guard against overlong messages.

A 100 KB paste would make DIET's transformer and the char n-gram featurizer do a lot
of pointless work. ``InputLengthGuard`` (first in the pipeline) trims the text that
the NLU components see and remembers the original length; ``InputLengthVerdict``
(last in the pipeline) then replaces the prediction with ``message_too_long``, whose
rule answers with a polite "please keep it shorter". The tracker keeps the text the
patient sent, so nothing is lost.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.config import get_settings
from bot.contract import (
    OUT_OF_SCOPE_INTENT,
    PERSONAL_MEDICAL_INTENT,
    TOO_LONG_INTENT,
    URGENT_INTENT,
    answer_intent,
)
from bot.facts.contract import ENTITY_VALUES
from bot.rasa_ext.base import StatelessComponent

ORIGINAL_LENGTH_KEY = "meso_original_length"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class InputLengthGuard(StatelessComponent):
    """Trims overlong texts before tokenization and records their real length."""

    def __init__(self, config: dict[str, Any] | None = None, **storage: Any) -> None:
        super().__init__(config, **storage)
        # A setting (MESO_MAX_MESSAGE_CHARS), not a pipeline option: a clinic changes it
        # without retraining, and the channels cut stored texts from the same value.
        self.max_chars = get_settings().max_message_chars

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
class InputLengthVerdict(StatelessComponent):
    """Overrides the prediction for messages the guard marked as too long."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if message.get(ORIGINAL_LENGTH_KEY):
                verdict = {"name": TOO_LONG_INTENT, "confidence": 1.0}
                message.set(INTENT, verdict, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [verdict], add_to_output=True)
                message.set(ENTITIES, [], add_to_output=True)
        return messages


CONDITION_VALUES = frozenset(ENTITY_VALUES["condition"])
# General questions about what *can* happen ("can it make you faint?") stay answers.
GENERAL_QUESTION_INTENTS = frozenset(
    answer_intent(topic)
    for topic in ("side_effects", "safety", "contraindications", "pain", "preparation")
)
# Unmistakable emergency phrasings. A missed emergency costs far more than a patient
# with a harmless symptom being told to seek care, so these override the classifier.
RED_FLAGS = tuple(
    re.compile(pattern)
    for pattern in (
        r"\b(lost|losing|lose|loss of) (my |her |his )?consciousness\b",
        r"\bunconscious\b",
        r"\b(pass|passed|passing|passes) out\b",
        r"\bfaint(ed|ing|s)?\b",
        r"\b(black|blacked|blacking) out\b",
        r"\bcollaps(e|ed|es|ing)\b",
        r"\b(can'?t|cannot|can not|couldn'?t|could not|trouble|difficulty|hard to|struggling to)"
        r" breath(e|ing)?\b",
        r"\bshort(ness)? of breath\b",
        r"\bthroat\b.{0,40}\b(clos|tight|swell|swoll)",
        r"\bwheez",
        r"\basthma attack",
        r"\b(seizure|seizing|convuls\w*)",
        r"\bchest (pain|hurts|is hurting|tight)",
        r"\banaphyla",
        r"\b(face|lips?|eyes?|eyelids?|tongue)\b.{0,40}\b(swell|swoll|puff)",
        r"\b(swell|swoll|puff)\w*\b.{0,40}\b(face|lips?|eyes?|eyelids?|tongue)\b",
        r"\bpus\b",
        r"\babscess",
        r"\b(turn|turned|turning|going|gone|went) (black|dark|purple|grey|gray|blue)\b",
        r"\bnecros",
        r"\bhives\b",
        r"\b(high )?fever\b",
        r"\b(severe|unbearable|excruciating|worst)\b.{0,40}\bpain\b",
        r"\b(worst|sudden|severe|excruciating|thunderclap)\b.{0,20}\bheadache",
        r"\bdizz(y|iness)\b.{0,40}\b(can'?t|cannot|falling|fall over)\b",
        r"\b(can'?t|cannot|unable to) (stand up|stand|walk|stay awake)\b",
    )
)


# A personal-medical message with a red flag is often history ("I faint when I see
# needles, is it safe for me?"); it is escalated only when it reports what happened
# after a treatment or right now.
AFTER_TREATMENT = re.compile(
    r"\b(after|since|following)\b.{0,40}\b(session|treatment|injections?|procedure|meso\w*|"
    r"appointment|clinic)\b|\b(right now|now|just|today|tonight|this morning|yesterday)\b"
    r"|\b(i'?m|am|is|are) (having|getting)\b"
)
# The patient (or someone with them) telling what happens: "i", "my", "we".
FIRST_PERSON = re.compile(r"\b(i|i'?m|im|me|my|we|our|us)\b")

# No human emergency: an animal's symptoms, or a plot. The classifier still decides
# (its training data has such messages); only the override is held back.
# Not food ("fish", "chicken") nor trees or horses, which people fall from: with those
# words the message may well be a person's emergency.
ANIMALS_AND_PLANTS = [
    "dog",
    "dogs",
    "puppy",
    "puppies",
    "cat",
    "cats",
    "kitten",
    "kittens",
    "pet",
    "pets",
    "rabbit",
    "rabbits",
    "bunny",
    "hamster",
    "hamsters",
    "gerbil",
    "gerbils",
    "guinea",
    "parrot",
    "parrots",
    "bird",
    "birds",
    "budgie",
    "cow",
    "cows",
    "goat",
    "goats",
    "sheep",
    "pig",
    "pigs",
    "ferret",
    "ferrets",
    "goldfish",
    "turtle",
    "tortoise",
    "snake",
    "lizard",
    "gecko",
    "mouse",
    "mice",
    "rat",
    "rats",
    "vet",
    "plant",
    "plants",
    "flower",
    "flowers",
    "seedling",
    "seedlings",
]
NOT_A_PATIENT = re.compile(
    rf"\b({'|'.join(ANIMALS_AND_PLANTS)})\b"
    r"|\b(movie|film|novel|episode|tv show|tv series|video game|cartoon|character)\b"
)
# Typed fast on a phone: "goldfsh", "hamstr". Only words that are not English words
# themselves are compared, so "plan" never reads as "plant".
_TYPO_MIN_LENGTH = 5
_TYPO_SIMILARITY = 0.85


def mentions_no_patient(lowered: str) -> bool:
    """An animal, a plant or a story is what the message is about (typos allowed)."""
    if NOT_A_PATIENT.search(lowered):
        return True
    from bot.rasa_ext.language import english_vocabulary

    vocabulary = english_vocabulary()
    candidates = [
        word
        for word in re.findall(r"[a-z]+", lowered)
        if len(word) >= _TYPO_MIN_LENGTH and word not in vocabulary
    ]
    return any(
        difflib.get_close_matches(word, ANIMALS_AND_PLANTS, n=1, cutoff=_TYPO_SIMILARITY)
        for word in candidates
    )


def nobody_to_send(lowered: str) -> bool:
    """An animal's or a plant's symptoms, or a plot, with no person in the message."""
    return mentions_no_patient(lowered) and not HUMAN.search(lowered)


# Anyone human in the message: with such a word, an urgent verdict always stands.
HUMAN = re.compile(
    r"\b(i|i'?m|im|me|myself|we|us|he|she|his|her|him|mum|mom|mother|dad|father|wife|"
    r"husband|partner|boyfriend|girlfriend|son|daughter|child|kid|baby|friend|sister|"
    r"brother|grandma|grandpa|granny|grandad|patient|someone|somebody|person|people|man|"
    r"woman|colleague|flatmate)\b"
)
# General curiosity ("what makes people faint?"): a wh-question about nobody in particular.
CURIOSITY = re.compile(r"^\s*(what|why|how come|how do|how does)\b")
SOMEONE = re.compile(
    r"\b(i|i'?m|me|my|we|our|us|he|she|his|her|him|they|them|mum|mom|mother|dad|father|"
    r"wife|husband|partner|son|daughter|friend|sister|brother|baby|child|kid)\b"
)


def override_intent(message: Message, intent: str) -> None:
    """A rule's verdict: ``intent`` at confidence 1.0, the classifier's ranking after it."""
    verdict = {"name": intent, "confidence": 1.0}
    ranking = [
        verdict,
        *(e for e in message.get(INTENT_RANKING_KEY) or [] if e["name"] != intent),
    ]
    message.set(INTENT, verdict, add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking[:10], add_to_output=True)


def red_flag(text: str) -> str | None:
    """The first emergency phrase found in the text, or None."""
    lowered = text.lower()
    for pattern in RED_FLAGS:
        if match := pattern.search(lowered):
            return match.group(0)
    return None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class UrgentRedFlagGuard(StatelessComponent):
    """Routes messages with unmistakable emergency phrases to ``report_urgent``.

    A safety net under the statistical classifier, which can miss a phrasing it has
    never seen; the urgent-care advice must reach every such patient.
    """

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            predicted = (message.get(INTENT) or {}).get("name")
            if not isinstance(text, str) or text.startswith("/"):
                continue  # button payloads are explicit intents
            lowered = text.lower()
            if predicted == URGENT_INTENT:
                if nobody_to_send(lowered):
                    # An animal's or a plant's symptoms, or a plot: nobody to send to A&E.
                    override_intent(message, OUT_OF_SCOPE_INTENT)
                continue
            if not red_flag(text) or nobody_to_send(lowered):
                continue
            if CURIOSITY.search(lowered) and not SOMEONE.search(lowered):
                continue
            happening = AFTER_TREATMENT.search(lowered)
            if predicted in GENERAL_QUESTION_INTENTS and not (
                happening and FIRST_PERSON.search(lowered)
            ):
                continue  # "can it make you faint?" is a question, not an emergency
            if predicted == PERSONAL_MEDICAL_INTENT and not happening:
                continue
            override_intent(message, URGENT_INTENT)
        return messages


# The patient speaking of themselves: "i'm allergic to...", "i take...", "my doctor".
ABOUT_MYSELF = re.compile(
    r"\b(i'?m|i am|im|i'?ve|i have|i had|i take|i took|i use|i'?m on|i got)\b"
    r"|\bmy (doctor|gp|derm\w*|dermatologist)\b"
)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PersonalConditionGuard(StatelessComponent):
    """Routes an answer question about the patient's own condition to ``personal_medical``.

    "i'm allergic to lidocaine, can you do it without anaesthetic?" reads like a
    question about pain, but the patient's own condition makes it personal: the bot
    never gives personal medical advice, so the handoff must win. It fires only when
    the patient speaks of themselves and a condition value (pregnancy, allergy,
    blood thinners...) was extracted, whatever entity type carries it. General
    questions ("can pregnant women have it?") are left alone.
    """

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            predicted = (message.get(INTENT) or {}).get("name") or ""
            if not isinstance(text, str) or text.startswith("/"):
                continue
            if predicted in (URGENT_INTENT, PERSONAL_MEDICAL_INTENT, OUT_OF_SCOPE_INTENT):
                continue
            values = {str(e.get("value")) for e in message.get(ENTITIES) or []}
            if values & CONDITION_VALUES and ABOUT_MYSELF.search(text.lower()):
                override_intent(message, PERSONAL_MEDICAL_INTENT)
        return messages
