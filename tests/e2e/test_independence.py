"""The evaluation sets are independent of the training data, and well formed.

An item that copies a training example (exactly once normalised, or with character
similarity >= 0.9) would measure memory; these tests fail on any such item in the
end-to-end set or in the held-out NLU set. Training examples include the per-fact
examples under data/nlu/facts.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot import PROJECT_ROOT
from bot.evaluation.dedup import near_copies, nlu_examples, normalise, plain
from bot.evaluation.e2e import ROUTES, load_items

E2E = PROJECT_ROOT / "tests" / "e2e" / "patients.yml"
HELDOUT = PROJECT_ROOT / "tests" / "nlu" / "heldout.yml"
DEV_STORIES = PROJECT_ROOT / "tests" / "nlu" / "dev_stories.yml"
DEV_COVERAGE = PROJECT_ROOT / "tests" / "nlu" / "dev_coverage.yml"
MIN_ITEMS = 400


@pytest.fixture(scope="module")
def training_texts() -> list[str]:
    return [text for _, text in nlu_examples(PROJECT_ROOT / "data" / "nlu")]


def fact_ids() -> set[str]:
    ids: set[str] = set()
    for path in (PROJECT_ROOT / "data" / "facts").glob("*.yml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        ids.update(fact["id"] for fact in document.get("facts") or [])
    return ids


def heldout_texts(path: Path) -> list[str]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        plain(line.strip()[2:])
        for block in document["nlu"]
        if "intent" in block
        for line in block["examples"].splitlines()
        if line.strip()
    ]


def test_the_end_to_end_set_is_big_and_well_formed() -> None:
    items = load_items(E2E)
    assert len(items) >= MIN_ITEMS
    assert len({item.id for item in items}) == len(items)
    assert len({normalise(item.text) for item in items}) == len(items), "duplicate texts"
    known = fact_ids()
    routes = Counter(item.route for item in items)
    assert set(routes) == set(ROUTES), f"every route is measured: {routes}"
    for item in items:
        if item.route == "answer":
            assert item.facts, f"{item.id}: an answer item names its acceptable facts"
        unknown = set(item.facts) | set(item.also)
        assert unknown <= known, f"{item.id}: unknown fact ids {unknown - known}"


def test_no_end_to_end_item_copies_training_data(training_texts: list[str]) -> None:
    texts = [text for item in load_items(E2E) for text in (item.text, item.context) if text]
    copies = near_copies(texts, training_texts)
    assert not copies, "\n".join(f"{c.ratio:.2f} {c.item!r} ~ {c.example!r}" for c in copies)


@pytest.mark.parametrize("path", [HELDOUT, DEV_STORIES, DEV_COVERAGE], ids=lambda path: path.name)
def test_no_heldout_example_copies_training_data(path: Path, training_texts: list[str]) -> None:
    copies = near_copies(heldout_texts(path), training_texts)
    assert not copies, "\n".join(f"{c.ratio:.2f} {c.item!r} ~ {c.example!r}" for c in copies)


def test_the_check_catches_copies_and_near_copies() -> None:
    examples = ["how many [sessions](x) do i need", "can i go to the sauna after"]
    found = near_copies(
        ["How many sessions do I need?", "can i go to the sauna aftr", "does it hurt"], examples
    )
    assert [(c.item, c.ratio == 1.0) for c in found] == [
        ("How many sessions do I need?", True),
        ("can i go to the sauna aftr", False),
    ]
