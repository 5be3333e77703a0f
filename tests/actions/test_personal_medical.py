"""action_personal_medical_context: general, cited facts, never advice to change medicine."""

from __future__ import annotations

import re

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.personal_medical import (
    MEDICINE_CONDITIONS,
    ActionPersonalMedicalContext,
    PersonalContextFinder,
)
from bot.facts.contract import ENTITY_VALUES
from bot.facts.query import FactBase
from tests.actions.conftest import customs, entity, make_tracker, texts

# Anything that could read as permission to stop or change a medicine.
ADVICE_TO_STOP = re.compile(
    r"\b(you (may|can|could|should) (stop|pause|skip|come off|discontinue|quit)|"
    r"(stop|pause|skip|discontinue|quit)\w* (taking|your|the) (\w+ )?(medication|medicine|"
    r"tablets|pills|treatment|blood thinners?|aspirin|warfarin))",
    re.I,
)


async def context_for(fact_base: FactBase, text: str, entities=()) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(intent="personal_medical", text=text, entities=list(entities))
    events = await ActionPersonalMedicalContext(fact_base).run(dispatcher, tracker, {})
    assert events == []
    return dispatcher


async def test_blood_thinners_get_the_general_aspirin_and_nsaid_advice(fact_base: FactBase) -> None:
    dispatcher = await context_for(
        fact_base,
        "i take warfarin for my heart, can i still have it?",
        [entity("condition", "blood_thinners", "warfarin")],
    )

    answer = " ".join(texts(dispatcher))
    assert "In general" in answer
    assert "aspirin" in answer.lower() and "NSAID" in answer
    assert "Please don't change how you take any prescribed medicine without your doctor" in answer
    assert answer.index("Please don't change") < answer.index("aspirin")  # said first
    assert "\nSources: " in texts(dispatcher)[-1]
    assert not ADVICE_TO_STOP.search(answer)
    [custom] = customs(dispatcher)
    assert custom["data"]["kind"] == "answer_meta" and custom["data"]["fact_ids"]


async def test_condition_is_found_in_the_text_when_nlu_missed_it(fact_base: FactBase) -> None:
    dispatcher = await context_for(fact_base, "I'm on xarelto, is that a problem?")

    assert "NSAID" in " ".join(texts(dispatcher))


@pytest.mark.parametrize("condition", ENTITY_VALUES["condition"])
async def test_no_condition_ever_gets_advice_to_stop_medication(
    fact_base: FactBase, condition: str
) -> None:
    dispatcher = await context_for(fact_base, "...", [entity("condition", condition)])

    answer = " ".join(texts(dispatcher))
    assert not ADVICE_TO_STOP.search(answer), answer
    assert "generally considered safe" not in answer  # no reassurance next to a condition
    if answer:
        assert answer.startswith(("In general", "Please don't change"))
        assert "\nSources: " in texts(dispatcher)[-1]
    if condition in MEDICINE_CONDITIONS and answer:
        assert "Please don't change how you take any prescribed medicine" in answer


async def test_facts_for_another_condition_are_not_shown(fact_base: FactBase) -> None:
    facts = PersonalContextFinder(fact_base).facts("pregnancy")

    assert facts
    assert all(not f.values("condition") or "pregnancy" in f.values("condition") for f in facts)


async def test_no_condition_means_no_extra_message(fact_base: FactBase) -> None:
    dispatcher = await context_for(fact_base, "will it work for me?")

    assert dispatcher.messages == []


def test_domain_refuses_personal_advice_plainly(domain) -> None:
    text = domain["responses"]["utter_cannot_give_personal_advice"][0]["text"]

    assert "can't give personal medical advice" in text
    assert "doctor who knows you" in text
