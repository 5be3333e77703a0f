"""Every fact has example questions for the fact ranker, under its topic's intent."""

from __future__ import annotations

from collections import Counter

import yaml

from bot import PROJECT_ROOT
from bot.contract import UNCOVERED_FACT_PREFIX, is_uncovered_fact, uncovered_fact
from bot.facts.contract import TOPICS

MIN_EXAMPLES_PER_FACT = 8
FACT_EXAMPLES = PROJECT_ROOT / "data" / "nlu" / "facts"


def facts() -> dict[str, str]:
    """fact id -> topic, from data/facts."""
    found: dict[str, str] = {}
    for path in (PROJECT_ROOT / "data" / "facts").glob("*.yml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found.update({fact["id"]: fact["topic"] for fact in document.get("facts") or []})
    return found


def examples() -> Counter[tuple[str, str]]:
    """(fact id, intent) -> number of examples, from data/nlu/facts."""
    counts: Counter[tuple[str, str]] = Counter()
    for path in FACT_EXAMPLES.glob("*.yml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for block in document["nlu"]:
            fact = (block.get("metadata") or {}).get("fact")
            assert fact, f"{path.name}: block of {block['intent']} without metadata.fact"
            lines = [line for line in block["examples"].splitlines() if line.strip()]
            counts[(fact, block["intent"])] += len(lines)
    return counts


def test_every_fact_has_enough_examples() -> None:
    per_fact = Counter[str]()
    for (fact, _), count in examples().items():
        per_fact[fact] += count
    short = {fact: per_fact[fact] for fact in facts() if per_fact[fact] < MIN_EXAMPLES_PER_FACT}
    assert not short, f"facts with fewer than {MIN_EXAMPLES_PER_FACT} examples: {short}"


def test_examples_name_existing_facts_under_their_topics_intent() -> None:
    # Besides the facts: the uncovered.<topic> classes (data/nlu/facts/uncovered.yml).
    known = facts() | {uncovered_fact(topic): topic for topic in TOPICS}
    for fact, intent in examples():
        assert fact in known, f"examples for unknown fact {fact}"
        assert intent == f"ask_{known[fact]}", f"{fact}: examples under {intent}"


def test_no_fact_id_looks_like_an_uncovered_class() -> None:
    clashing = [fact for fact in facts() if is_uncovered_fact(fact)]
    assert not clashing, f"fact ids must not start with {UNCOVERED_FACT_PREFIX!r}: {clashing}"


def test_every_uncovered_class_has_enough_examples() -> None:
    per_class = Counter[str]()
    for (fact, _), count in examples().items():
        if is_uncovered_fact(fact):
            per_class[fact] += count
    assert per_class, "data/nlu/facts/uncovered.yml teaches the ranker what isn't covered"
    short = {fact: n for fact, n in per_class.items() if n < MIN_EXAMPLES_PER_FACT}
    assert not short, f"uncovered classes with fewer than {MIN_EXAMPLES_PER_FACT} examples: {short}"
