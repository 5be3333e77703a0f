"""Hedged, attributed and balanced answers, through the real Rasa and action servers.

Issue #17: results timing keeps the articles' "can" and "might"; "is it safe?" and
"any side effects?" show the risk side first; pain shows both sides with who says
what; a patient with psoriasis gets "check with a doctor", never a benefit claim.
"""

from __future__ import annotations

import pytest

from actions.composer import who_says_what
from bot.facts.query import Fact, FactBase
from tests.stack import Stack, custom_payloads, dump, texts

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fact_base(stack: Stack) -> FactBase:
    from bot.db import make_engine

    return FactBase(make_engine(stack.facts_db_url))


def shown_facts(fact_base: FactBase, messages: list[dict]) -> list[Fact]:
    metas = [p for p in custom_payloads(messages) if p.get("kind") == "answer_meta"]
    ids = [fact_id for meta in metas for fact_id in meta["fact_ids"]]
    facts = [fact_base.fact(fact_id) for fact_id in ids]
    assert all(facts), ids
    return facts  # type: ignore[return-value]


def assert_meets_the_standard(facts: list[Fact], reply: str) -> None:
    """Each fact in full, its hedges, and for a disagreement every who-says claim."""
    for fact in facts:
        assert fact.text in reply, fact.id
        for hedge in fact.hedges:
            assert hedge in fact.text, (fact.id, hedge)
        if len(fact.sources) == 1:
            assert "one article" in fact.text.lower(), fact.id
        if fact.disagreement:
            for claim in (who_says_what(fact) or "").split("; "):
                assert claim in reply, (fact.id, claim)
    assert "Sources:" in reply


def test_results_timing_keeps_the_hedges_and_names_one_article(
    stack: Stack, fact_base: FactBase
) -> None:
    messages = stack.send("when will I see results?")
    facts, reply = shown_facts(fact_base, messages), texts(messages)

    assert facts and {f.topic for f in facts} <= {"results_timeline", "effectiveness"}, dump(
        messages
    )
    assert_meets_the_standard(facts, reply)
    assert any(f.hedges for f in facts), dump(messages)
    assert "article" in reply
    assert "usually seen" not in reply and "full effect" not in reply


def test_is_it_safe_shows_the_risks_first(stack: Stack, fact_base: FactBase) -> None:
    messages = stack.send("is mesotherapy safe?")
    facts, reply = shown_facts(fact_base, messages), texts(messages)

    assert facts and facts[0].topic == "safety", dump(messages)
    assert_meets_the_standard(facts, reply)
    assert "risk" in reply.lower(), dump(messages)
    if "generally considered safe" in reply:
        assert reply.lower().index("risk") < reply.index("generally considered safe")
    sides = [0 if f.is_risk else 2 if f.is_benefit else 1 for f in facts]
    assert sides == sorted(sides), [f.id for f in facts]


def test_any_side_effects_starts_with_a_risk(stack: Stack, fact_base: FactBase) -> None:
    messages = stack.send("are there any side effects?")
    facts, reply = shown_facts(fact_base, messages), texts(messages)

    assert facts and facts[0].is_risk, dump(messages)
    assert_meets_the_standard(facts, reply)


def test_pain_answer_shows_both_sides(stack: Stack, fact_base: FactBase) -> None:
    messages = stack.send("does it hurt?")
    facts, reply = shown_facts(fact_base, messages), texts(messages)

    assert facts, dump(messages)
    assert_meets_the_standard(facts, reply)
    assert "article" in reply
    if "painless" in reply:  # never "painless" on its own
        assert "discomfort" in reply, dump(messages)


def test_psoriasis_gets_check_with_a_doctor_not_a_benefit(
    stack: Stack, fact_base: FactBase
) -> None:
    messages = stack.send("I have psoriasis on my scalp, can I have mesotherapy?")
    facts, reply = shown_facts(fact_base, messages), texts(messages)

    assert "doctor" in reply, dump(messages)
    assert not [f.id for f in facts if f.is_benefit], dump(messages)
    for benefit in ("irritation", "dandruff", "healthier"):
        assert benefit not in reply, dump(messages)
