#!/usr/bin/env python
"""`make eval` part 1: patient messages through the real stack, judged by what is sent.

Starts the action server and the Rasa server on free ports (the same stack the
integration tests use, with the trained model of `make train`), sends every item of
tests/e2e/patients.yml over REST, and writes results/e2e.json with the figures, the
failures and every outcome, plus results/e2e-confusion.png. Refuses to run when an
item is a copy or near-copy of a training example.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bot import PROJECT_ROOT as ROOT
from bot.evaluation.dedup import near_copies, nlu_examples
from bot.evaluation.e2e import load_items, run, write_report
from bot.stack import Stack

ITEMS = ROOT / "tests" / "e2e" / "patients.yml"
RESULTS = ROOT / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=Path, default=ITEMS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--every", type=int, default=1, help="run every Nth item only")
    parser.add_argument("--model", type=Path, help="a model other than `make train`'s")
    args = parser.parse_args()

    items = load_items(args.items)[:: args.every]
    texts = [text for item in items for text in (item.text, item.context) if text]
    copies = near_copies(texts, [text for _, text in nlu_examples(ROOT / "data" / "nlu")])
    if copies:
        for copy in copies:
            print(f"  {copy.ratio:.2f}  {copy.item!r} ~ {copy.example!r}", file=sys.stderr)
        print(f"error: {len(copies)} evaluation messages copy training data", file=sys.stderr)
        return 1
    print(f"==> {len(items)} items; no copies or near-copies (>= 0.9) of training examples")

    with tempfile.TemporaryDirectory(prefix="meso-e2e-") as workdir:
        stack = Stack(Path(workdir), model=args.model)
        stack.prepare()
        print("==> Starting the action server and Rasa (about a minute)", flush=True)
        started = time.monotonic()
        stack.build_fact_base()
        stack.start("actions")
        stack.start("rasa")
        try:
            stack.wait_ready("actions", "/health")
            stack.wait_ready("rasa", "/")
            print(f"    ready in {time.monotonic() - started:.0f} s", flush=True)

            def progress(done: int, total: int) -> None:
                if done % 50 == 0 or done == total:
                    print(f"    {done}/{total}", flush=True)

            outcomes = run(items, stack.rasa_url, stack.tracker_db_url, progress)
        finally:
            stack.stop_all()
    summary = write_report(outcomes, args.out)
    print("==> End-to-end results (results/e2e.json, results/e2e-confusion.png)")
    for key in (
        "items",
        "route_accuracy",
        "answer_accuracy",
        "urgent_recall",
        "false_urgent_rate",
        "false_urgent_probe_rate",
        "fallback_rate_on_answerable",
        "second_question_rate",
    ):
        print(f"    {key:30} {summary[key]}")
    for route, figures in summary["per_route"].items():
        print(f"    route {route:22} n={figures['n']:3}  accuracy {figures['accuracy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
