"""Where the articles disagree, a fact shows both values and who says what."""

from __future__ import annotations

from bot.facts.query import FactBase, Span


def claims(fact_base: FactBase, fact_id: str) -> dict[str, list[tuple[str, Span | None]]]:
    fact = fact_base.fact(fact_id)
    assert fact is not None
    found: dict[str, list[tuple[str, Span | None]]] = {}
    for citation in fact.citations:
        if citation.says:
            found.setdefault(citation.source.id, []).append((citation.says, citation.span))
    return found


def test_hair_washing_24_hours_versus_2_to_3_days(fact_base: FactBase) -> None:
    fact = fact_base.facts_for("aftercare", {"activity": "hair washing"}, limit=1)[0]
    assert fact.id == "aftercare.hair_washing_wait"
    assert fact.disagreement
    assert fact.span == Span(min=1, max=3, unit="days")
    by_source = claims(fact_base, fact.id)
    [(_, vizox)] = by_source["vizox-clinique"]
    [(_, hbt)] = by_source["healthcare-business-today"]
    assert vizox.describe() == "at least 24 hours"
    assert hbt.describe() == "2-3 days"
    who = {source.label: says for source, says in fact.who_says()}
    assert who == {"Vizox Clinique": "wait at least 24 hours",
                   "Healthcare Business Today": "wait two to three days"}  # fmt: skip
    assert "24 hours" in fact.text and "2 to 3 days" in fact.text


def test_session_length_15_minutes_versus_up_to_30(fact_base: FactBase) -> None:
    fact = fact_base.facts_for("session_duration", limit=1)[0]
    assert fact.disagreement
    assert fact.span == Span(min=10, max=30, unit="minutes")
    spans = {(c.source.id, c.span.describe()) for c in fact.citations if c.span}
    assert spans == {
        ("capillary-infiltration", "15 minutes"),
        ("capillary-infiltration", "10-30 minutes"),
        ("what-is-mesotherapy", "up to 30 minutes"),
    }


def test_next_course_after_6_or_9_months(fact_base: FactBase) -> None:
    fact = fact_base.facts_for("repeat_course", limit=1)[0]
    assert fact.id == "repeat_course.six_to_nine_months"
    assert fact.span == Span(min=6, max=9, unit="months")
    values = sorted(c.span.describe() for c in fact.citations if c.span)
    assert values == ["6 months", "at least 9 months"]
    assert fact.disagreement


def test_agreeing_sources_are_not_flagged(fact_base: FactBase) -> None:
    fact = fact_base.fact("safety.trained_professional")
    assert fact is not None and not fact.disagreement
    assert len(fact.sources) == 3


def test_prp_autoimmune_statement_is_labelled_as_prp(fact_base: FactBase) -> None:
    for fact in fact_base.about("autoimmune"):
        assert "PRP" in fact.text and "not mesotherapy" in fact.text, fact.id
    assert fact_base.vocabulary("condition")["autoimmune"].has_facts
