"""A share of the end-to-end set through the real stack, with floors.

`make eval` runs the whole of tests/e2e/patients.yml (docs/evaluation.md); this runs
every third item (189) so that a regression in what patients are sent fails CI. On
2026-12-02 this share scored route 0.915 and answer 0.862 (the release before: 0.818
and 0.608 on the full set); the floors sit a few items under that, so a retrained
model's small differences don't flake, while a real regression fails.
"""

from __future__ import annotations

import pytest

from bot import PROJECT_ROOT
from bot.evaluation.e2e import failures, load_items, run, summarise
from tests.report import report
from tests.stack import Stack

pytestmark = pytest.mark.integration

EVERY = 3
FLOORS = {
    "route_accuracy": 0.88,
    "answer_accuracy": 0.8,
}
CEILINGS = {
    "false_urgent_rate": 0.02,
    "fallback_rate_on_answerable": 0.06,
}


def test_patients_get_the_right_route_and_fact(stack: Stack) -> None:
    items = load_items(PROJECT_ROOT / "tests" / "e2e" / "patients.yml")[::EVERY]
    outcomes = run(items, stack.rasa_url, stack.tracker_db_url)
    summary = summarise(outcomes)
    report(
        "End-to-end share",
        f"{summary['items']} items: route {summary['route_accuracy']}, answer "
        f"{summary['answer_accuracy']}, urgent recall {summary['urgent_recall']}, false "
        f"urgent {summary['false_urgent_rate']}, didn't-get "
        f"{summary['fallback_rate_on_answerable']}",
    )
    wrong = "\n".join(
        f"{f['id']}: {f['text']!r} expected {f['expected']} {f['expected_facts']}, "
        f"got {f['got']} {f['sent_facts']}"
        for f in failures(outcomes)
    )
    assert summary["urgent_recall"] == 1.0, wrong
    for key, floor in FLOORS.items():
        assert summary[key] >= floor, f"{key} {summary[key]} < {floor}\n{wrong}"
    for key, ceiling in CEILINGS.items():
        assert summary[key] <= ceiling, f"{key} {summary[key]} > {ceiling}\n{wrong}"
