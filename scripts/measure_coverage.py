#!/usr/bin/env python
"""Route of each item of the coverage development set, without the running stack.

``tests/nlu/dev_coverage.yml`` (a development set, not an evaluation set) holds
questions the articles don't answer (``route: not_covered``), questions they do
answer (``fact: <id>``) and general medical curiosity (``out_of_scope``). Each item is
parsed by a trained model (the whole NLU pipeline, guards included) and, for an answer
intent, planned by ``actions.answering.AnswerPlanner`` as the answer action would on a
first message. Every route the rules take from the intent is read the same way as
``bot.evaluation.e2e`` reads it from the tracker store.

    .venv/bin/python scripts/measure_coverage.py --model /tmp/exp_models/exp.tar.gz
    .venv/bin/python scripts/measure_coverage.py --sweep 0.05 0.077 0.1 0.15

``--sweep`` replans the same parses at other coverage thresholds (option (a) of
issue #15's coverage work): the parses are the slow part, planning is instant.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from actions import answering  # noqa: E402
from bot.contract import (  # noqa: E402
    FACT_RANKING_KEY,
    FALLBACK_INTENT,
    FOLLOW_UP_INTENT,
    HANDOFF_REASONS,
    OTHER_LANGUAGE_INTENT,
    OUT_OF_SCOPE_INTENT,
    PERSONAL_MEDICAL_INTENT,
    QUESTION_PARTS_KEY,
    URGENT_INTENT,
    topic_of,
)
from bot.evaluation.dedup import plain  # noqa: E402
from bot.facts.query import FactBase  # noqa: E402

DEV_SET = ROOT / "tests" / "nlu" / "dev_coverage.yml"
DEFAULT_MODEL = ROOT / "models" / "current.tar.gz"


@dataclass(frozen=True)
class DevItem:
    text: str
    route: str  # answer, not_covered or out_of_scope
    fact: str | None = None
    kind_trained: bool = True  # False: a kind of uncovered question never trained on


def load_dev_set(path: Path = DEV_SET) -> list[DevItem]:
    """The items of the development set, with the route each one should take."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    items: list[DevItem] = []
    for block in document["nlu"]:
        metadata = block.get("metadata") or {}
        if block["intent"] == OUT_OF_SCOPE_INTENT:
            route, fact = "out_of_scope", None
        elif metadata.get("route") == "not_covered":
            route, fact = "not_covered", None
        else:
            route, fact = "answer", metadata["fact"]
        trained = bool(metadata.get("kind_trained", True))
        for line in block["examples"].splitlines():
            if line.strip().startswith("- "):
                items.append(DevItem(plain(line.strip()[2:]), route, fact, trained))
    return items


def route_of(parse: dict[str, Any], planner: answering.AnswerPlanner) -> tuple[str, str | None]:
    """(route, first fact sent) for a first message with this parse data."""
    intent = (parse.get("intent") or {}).get("name") or ""
    if intent == URGENT_INTENT:
        return "urgent", None
    if intent == PERSONAL_MEDICAL_INTENT:
        return "medical_handoff", None
    if intent == OUT_OF_SCOPE_INTENT:
        return "out_of_scope", None
    if intent == OTHER_LANGUAGE_INTENT:
        return "other_language", None
    if intent == FALLBACK_INTENT:
        return "fallback", None
    if intent in HANDOFF_REASONS:
        return "handoff", None
    if topic_of(intent) is None and intent != FOLLOW_UP_INTENT:
        return f"smalltalk:{intent}", None
    plan = planner.plan(
        intent,
        list(parse.get("entities") or []),
        parse.get("text"),
        None,
        parse.get(FACT_RANKING_KEY),
        parse.get(QUESTION_PARTS_KEY),
    )
    if plan is None:
        return "fallback", None
    if not plan.facts or plan.not_covered is not None:
        return "not_covered", None
    return "answer", plan.facts[0].id


async def parse_all(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def score(
    items: list[DevItem], parses: list[dict[str, Any]], planner: answering.AnswerPlanner
) -> dict[str, Any]:
    """Right routes per expected route, right first facts, and every miss."""
    per_route: dict[str, Counter[str]] = {}
    facts_right = 0
    untrained = Counter[bool]()
    misses: list[dict[str, Any]] = []
    for item, parse in zip(items, parses, strict=True):
        route, fact = route_of(parse, planner)
        per_route.setdefault(item.route, Counter())[route] += 1
        facts_right += route == "answer" and fact == item.fact
        if not item.kind_trained:
            untrained[route == item.route] += 1
        if route != item.route:
            best = (parse.get(FACT_RANKING_KEY) or [{}])[0]
            misses.append({
                "text": item.text, "expected": item.route, "got": route,
                "intent": (parse.get("intent") or {}).get("name"),
                "best_fact": best.get("id"), "best_score": best.get("score"),
            })  # fmt: skip
    return {
        "routes": {
            route: {"n": sum(got.values()), "right": got[route], "got": dict(got)}
            for route, got in per_route.items()
        },
        "answer_first_fact_right": facts_right,
        "untrained_kinds": f"{untrained[True]}/{untrained.total()}",
        "misses": misses,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--dev", type=Path, default=DEV_SET)
    parser.add_argument("--sweep", type=float, nargs="*", default=[], help="coverage thresholds")
    parser.add_argument("--ratios", type=float, nargs="*", default=[], help="UNCOVERED_RATIO")
    parser.add_argument("--cache", type=Path, help="parse data: read if present, else written")
    parser.add_argument("--misses", action="store_true", help="list every wrong route")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    items = load_dev_set(args.dev)
    if args.cache and args.cache.exists():
        parses = json.loads(args.cache.read_text(encoding="utf-8"))
    else:
        parses = asyncio.run(parse_all(args.model, [item.text for item in items]))
        if args.cache:
            args.cache.write_text(json.dumps(parses), encoding="utf-8")
    planner = answering.AnswerPlanner(FactBase.from_settings())
    threshold, ratio = answering.COVERAGE_THRESHOLD, answering.UNCOVERED_RATIO
    settings = [(threshold, ratio)]
    settings += [(other, ratio) for other in args.sweep]
    settings += [(threshold, other) for other in args.ratios]
    for answering.COVERAGE_THRESHOLD, answering.UNCOVERED_RATIO in settings:
        result = score(items, parses, planner)
        routes = "  ".join(
            f"{route} {entry['right']}/{entry['n']}" for route, entry in result["routes"].items()
        )
        print(
            f"coverage {answering.COVERAGE_THRESHOLD:.3f} uncovered ratio "
            f"{answering.UNCOVERED_RATIO:.2f}: {routes}  first fact "
            f"{result['answer_first_fact_right']}  untrained kinds {result['untrained_kinds']}"
        )
        if args.misses:
            for miss in result["misses"]:
                print("   ", json.dumps(miss))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
