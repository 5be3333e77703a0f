"""Every fact says exactly what its sources say (docs/facts.md, "Fact claims").

The checks live in ``bot.facts.claims`` and the build runs them; these tests show
that they hold for the curated facts, that they catch the wordings the audit of
issue #17 found, and that a benefit claim never answers a personal condition.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.personal_medical import ActionPersonalMedicalContext, PersonalContextFinder
from bot.facts.claims import (
    attribution_problems,
    benefit_problems,
    fact_problems,
    frequency_problems,
    hedge_problems,
)
from bot.facts.contract import ENTITY_VALUES
from bot.facts.loader import Curation, FactSpec
from bot.facts.query import FactBase
from tests.actions.conftest import entity, make_tracker, texts


def spec(curation: Curation, fact_id: str) -> FactSpec:
    return next(fact for fact in curation.facts if fact.id == fact_id)


def test_every_fact_meets_the_standard(curation: Curation) -> None:
    problems = [
        f"{fact.file}:{fact.line}: {fact.id} {message}"
        for fact in curation.facts
        for message in fact_problems(fact, tuple(curation.sources))
    ]
    assert not problems, "\n".join(problems)


# Texts as they were before the audit (our own earlier words, not the articles'),
# with the check that now rejects each one.
OLD_TEXTS = [
    (
        "results_timeline.two_three_months",
        "Clear differences are usually seen within the first 2 to 3 months.",
        hedge_problems,
        "drops the source's hedge 'can'",
    ),
    (
        "results_timeline.two_three_months",
        "Clear differences are usually seen within the first 2 to 3 months.",
        attribution_problems,
        "cites one article",
    ),
    (
        "results_timeline.overview",
        "Results build up gradually. The articles mention more shine after the first "
        "session, early results for some people within a couple of weeks, the first "
        "significant results after about a month, clear changes in 2 to 3 months and "
        "the full effect by about 6 months.",
        hedge_problems,
        "drops the source's hedge 'might'",
    ),
    (
        "results_timeline.overview",
        "Results build up gradually. The articles mention more shine after the first "
        "session and the full effect by about 6 months.",
        attribution_problems,
        "says 'The articles' but cites 2 of the 5",
    ),
    (
        "scalp_health.pruritus_inflammation",
        "An itchy scalp (pruritus) is a common kind of scalp inflammation. It can come "
        "from psoriasis, dandruff or folliculitis. One article says mesotherapy lowers "
        "scalp irritation and gives hair a better environment to grow.",
        hedge_problems,
        "drops the source's hedge 'risk of'",
    ),
    (
        "safety.no_tissue_damage",
        "The skin is perforated carefully, and the articles say this does not harm the "
        "surrounding tissue or the collagen already there.",
        attribution_problems,
        "says 'the articles' but cites 3 of the 5",
    ),
    (
        "comparison.prp",
        "PRP (platelet-rich plasma) is a different injection treatment. The articles "
        "present both as non-surgical options for hair loss.",
        attribution_problems,
        "says 'The articles' but cites 2 of the 5",
    ),
    (
        "side_effects.hair_loss_reports",
        "Studies of mesotherapy for alopecia have recorded hair loss as a rare effect: in "
        "one, three people lost hair after a year of treatment; in another, a few "
        "patients developed patchy baldness.",
        frequency_problems,
        "says 'rare' about a risk",
    ),
    (
        "side_effects.serious_rare",
        "Serious adverse effects have been reported by only a few patients, and the "
        "chance of problems is small, especially at a reputable clinic.",
        attribution_problems,
        "cites one article",
    ),
]


@pytest.mark.parametrize(("fact_id", "old_text", "check", "message"), OLD_TEXTS)
def test_the_checks_reject_the_wordings_the_audit_found(
    curation: Curation, fact_id: str, old_text: str, check, message: str
) -> None:
    old = dataclasses.replace(spec(curation, fact_id), text=old_text)
    args = (old, tuple(curation.sources)) if check is attribution_problems else (old,)
    problems = check(*args)
    assert any(message in problem for problem in problems), problems


def test_a_benefit_tagged_with_a_condition_is_rejected(curation: Curation) -> None:
    # The old tagging: the scalp-irritation benefit qualified by psoriasis.
    fact = spec(curation, "scalp_health.pruritus_inflammation")
    assert fact.claim == "benefit" and not fact.qualifiers.get("condition")
    old = dataclasses.replace(fact, qualifiers={"condition": ("psoriasis",)})
    [problem] = benefit_problems(old)
    assert "psoriasis" in problem


def test_a_hedge_marker_must_come_from_the_evidence(curation: Curation) -> None:
    fact = spec(curation, "results_timeline.six_months")
    assert fact.hedges == ("might",)
    invented = dataclasses.replace(fact, hedges=("perhaps",), text=fact.text + " Perhaps.")
    assert any("is in no citation's evidence" in p for p in hedge_problems(invented))


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("Both articles say so.", "both articles"),
        ("Two articles say so.", "two articles"),
        ("All the articles say so.", "all the articles"),
        ("Most of the articles say so.", "most of the articles"),
        ("One article says so; another disagrees.", "another"),
    ],
)
def test_counted_articles_need_that_many_citations(
    curation: Curation, text: str, wanted: str
) -> None:
    single = dataclasses.replace(spec(curation, "results_timeline.six_months"), text=text)
    problems = attribution_problems(single, tuple(curation.sources))
    assert any(wanted.lower() in problem.lower() for problem in problems), problems


def test_saying_what_no_article_says_is_allowed(curation: Curation) -> None:
    fact = spec(curation, "aftercare.exercise")
    assert "The articles don't say" in fact.text
    assert not attribution_problems(fact, tuple(curation.sources))


def test_risks_are_stated_plainly(curation: Curation) -> None:
    """Scars, frequent minor reactions and infection as a plain risk are all said."""
    risks = [fact for fact in curation.facts if fact.claim == "risk"]
    sentences = [s for fact in risks for s in re.split(r"(?<=[.;])\s+", fact.text)]
    assert any("scars" in s for s in sentences)
    assert any("frequent" in s and "minor reactions" in s for s in sentences)
    plain_infection = [
        s
        for s in sentences
        if re.search(r"\binfection\b", s, re.I)
        and not re.search(r"\b(rare|inept\w*|badly|wounds?|aftercare)\b", s, re.I)
    ]
    assert plain_infection, "no fact names infection as a risk in its own right"
    side_effect_facts = [fact for fact in risks if fact.topic == "side_effects"]
    assert any(re.match(r"Infection is a risk", fact.text) for fact in side_effect_facts)


def test_pain_relief_advice_carries_the_aspirin_caution(curation: Curation) -> None:
    for fact_id in ("pain.managing", "side_effects.managing"):
        fact = spec(curation, fact_id)
        assert "painkillers" in fact.text
        assert "aspirin" in fact.text and "NSAIDs" in fact.text, fact_id


@pytest.mark.parametrize("condition", ENTITY_VALUES["condition"])
def test_no_benefit_claim_answers_a_personal_condition(fact_base: FactBase, condition: str) -> None:
    entry = fact_base.vocabulary("condition")[condition]
    own = [fact_base.fact(fact_id) for fact_id in entry.fact_ids]
    related = fact_base.related_facts("condition", condition)
    chosen = PersonalContextFinder(fact_base).facts(condition)
    for fact in [*own, *related, *chosen]:
        assert fact is not None and not fact.is_benefit, (condition, fact and fact.id)


async def test_psoriasis_gets_check_with_a_doctor_not_a_benefit(fact_base: FactBase) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        intent="personal_medical",
        text="I have psoriasis on my scalp, can I have mesotherapy?",
        entities=[entity("condition", "psoriasis")],
    )
    await ActionPersonalMedicalContext(fact_base).run(dispatcher, tracker, {})

    answer = " ".join(texts(dispatcher))
    assert "healthcare provider" in answer
    assert "irritation" not in answer and "dandruff" not in answer
    fact_ids = [m["custom"]["data"]["fact_ids"] for m in dispatcher.messages if m.get("custom")]
    assert fact_ids and all(not fact_base.fact(i).is_benefit for i in fact_ids[0])
