"""actions.composer: phone-sized messages, Sources line, who says what."""

from __future__ import annotations

from actions.composer import AnswerComposer, describe_source, short_name, sources_line
from bot.facts.query import FactBase


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
