"""actions.composer: phone-sized messages, Sources line, who says what."""

from __future__ import annotations

from actions.composer import (
    BODY_CHARS,
    WHO_SAYS_PREFIX,
    AnswerComposer,
    describe_source,
    risk_first,
    short_name,
    sources_line,
    who_says_what,
)
from bot.facts.query import Fact, FactBase


def test_sources_line_names_title_and_publisher(fact_base: FactBase) -> None:
    vizox = fact_base.source("vizox-clinique")
    untitled = fact_base.source("what-is-mesotherapy")

    assert describe_source(vizox) == f"“{vizox.title}” (Vizox Clinique)"
    assert describe_source(untitled) == f"“{untitled.title}”"  # no publisher shown
    assert sources_line([vizox, untitled]).startswith("Sources: “")


def test_short_names_for_attribution(fact_base: FactBase) -> None:
    assert short_name(fact_base.source("healthcare-business-today")) == "Healthcare Business Today"
    assert short_name(fact_base.source("capillary-infiltration")) == "“Capillary Infiltration”"
    assert short_name(fact_base.source("what-is-mesotherapy")) == "“What Is Mesotherapy?”"


def test_a_long_topic_is_split_into_two_messages(fact_base: FactBase) -> None:
    facts = fact_base.facts_for("ingredients")

    composed = AnswerComposer().compose(facts)

    assert len(composed.messages) == 2
    assert all(len(m.split("\nSources:")[0]) <= 400 for m in composed.messages)
    assert "Sources:" not in composed.messages[0]
    assert composed.messages[1].splitlines()[-1].startswith("Sources: ")
    assert len(composed.facts) < len(facts)  # the rest is left out, not cut mid-sentence


def test_a_short_answer_is_one_message(fact_base: FactBase) -> None:
    composed = AnswerComposer().compose(fact_base.facts_for("other_uses")[:1])

    assert len(composed.messages) == 1
    body, sources = composed.messages[0].split("\nSources: ")
    assert body == composed.facts[0].text.strip()
    assert sources


def test_only_cited_sources_are_listed_once_each(fact_base: FactBase) -> None:
    composed = AnswerComposer().compose(fact_base.facts_for("aftercare", {"activity": "sauna"})[:1])

    line = composed.messages[-1].splitlines()[-1]
    assert [s.id for s in composed.sources] == [s.id for s in composed.facts[0].sources]
    for source in composed.sources:
        assert line.count(f"“{source.title}”") == 1


def test_intro_and_outro_frame_the_facts(fact_base: FactBase) -> None:
    fact = fact_base.facts_for("preparation")[0]

    composed = AnswerComposer().compose([fact], intro="Intro.", outro="Outro.")

    text = " ".join(composed.messages)
    assert text.startswith("Intro. ")
    assert text.index("Outro.") < text.index("Sources:")


# -- who says what, and risks first (issue #17) ----------------------------------------


def _claims(fact: Fact) -> list[str]:
    """Each source's short name and claim, as the who-says line must show them."""
    line = who_says_what(fact)
    assert line, fact.id
    return [part.strip() for part in line.split("; ")]


def _disagreements(fact_base: FactBase) -> list[Fact]:
    facts = [fact for fact in fact_base.facts() if fact.disagreement]
    assert len(facts) >= 10
    return facts


def test_every_who_says_line_is_shown_in_full_within_the_budget(fact_base: FactBase) -> None:
    for fact in _disagreements(fact_base):
        composed = AnswerComposer().compose([fact])
        text = " ".join(composed.messages)
        assert fact.text in text
        for claim in _claims(fact):
            assert claim in text, (fact.id, claim)
        assert len(composed.messages) <= 2, fact.id
        for message in composed.messages:
            assert len(message.split("\nSources:")[0]) <= BODY_CHARS, (fact.id, message)


def test_scars_survive_in_the_other_minor_reactions_line(fact_base: FactBase) -> None:
    fact = fact_base.fact("side_effects.other_minor")
    assert fact is not None and fact.disagreement

    text = " ".join(AnswerComposer().compose([fact]).messages)

    assert "scars" in text.split(fact.text)[1]  # in the who-says line, not only the text
    assert "“What Is Mesotherapy?”" in text and "“Capillary Infiltration”" in text


def test_a_long_who_says_line_opens_the_next_message(fact_base: FactBase) -> None:
    fact = fact_base.fact("results_timeline.overview")
    assert fact is not None and len(fact.text) + len(who_says_what(fact) or "") > BODY_CHARS

    composed = AnswerComposer().compose([fact])

    assert composed.messages[0] == fact.text
    assert composed.messages[1].startswith(WHO_SAYS_PREFIX)
    assert "might be visible" in composed.messages[1]


def test_a_fact_is_left_out_whole_rather_than_without_its_who_says(
    fact_base: FactBase,
) -> None:
    first = fact_base.fact("side_effects.known_risks") or fact_base.fact("safety.known_risks")
    second = fact_base.fact("side_effects.other_minor")
    third = fact_base.fact("pain.mostly_painless")
    assert first and second and third

    composed = AnswerComposer().compose([first, second, third], required=1)
    text = " ".join(composed.messages)

    for fact in composed.facts:
        for claim in _claims(fact) if fact.disagreement else []:
            assert claim in text, (fact.id, claim)
    assert third not in composed.facts and third.text not in text


def test_both_chosen_facts_are_sent_with_their_who_says_lines(fact_base: FactBase) -> None:
    sessions = fact_base.fact("number_of_sessions.minimum_ten")
    pain = fact_base.fact("pain.mostly_painless")
    assert sessions and pain and sessions.disagreement and pain.disagreement

    composed = AnswerComposer().compose([sessions, pain])
    text = " ".join(composed.messages)

    assert composed.facts == [sessions, pain]
    for fact in (sessions, pain):
        for claim in _claims(fact):
            assert claim in text, (fact.id, claim)
    assert all(len(m.split("\nSources:")[0]) <= BODY_CHARS for m in composed.messages)


def test_risks_come_first_when_asked_about_safety_or_side_effects(fact_base: FactBase) -> None:
    reassurance = fact_base.fact("safety.trained_professional")
    risks = fact_base.fact("safety.known_risks")
    assert reassurance and risks and reassurance.is_benefit and risks.is_risk

    composed = AnswerComposer().compose([reassurance, risks])

    assert composed.facts == [risks, reassurance]
    text = " ".join(composed.messages)
    assert text.index(risks.text) < text.index(reassurance.text)
    side_effects = fact_base.facts_for("side_effects")
    assert AnswerComposer().compose(side_effects).facts[0].is_risk
    benefits_first = sorted(side_effects, key=lambda f: not f.is_benefit)
    assert risk_first(benefits_first, "side_effects")[0].is_risk


def test_other_topics_keep_the_given_order(fact_base: FactBase) -> None:
    facts = fact_base.facts_for("results_timeline")[:2]

    assert risk_first(facts) == facts
    assert risk_first(list(reversed(facts)), "effectiveness") == list(reversed(facts))


def test_a_safety_answer_names_the_risks_before_calling_it_safe(fact_base: FactBase) -> None:
    for facts in (fact_base.facts_for("safety"), fact_base.facts_for("safety")[::-1]):
        text = " ".join(AnswerComposer().compose(facts).messages)
        assert text.index("infection") < text.find("generally considered safe") or (
            "generally considered safe" not in text
        )
