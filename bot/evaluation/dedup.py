"""Copies and near-copies between an evaluation set and the training data.

An evaluation item that is a copy of a training example (exactly, after normalising
case, punctuation and entity markup, or with character similarity >= 0.9) measures
memory, not understanding; `make eval` and the tests refuse such items.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import yaml

NEAR_COPY_RATIO = 0.9
_MARKUP = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def plain(example: str) -> str:
    """An NLU example without entity markup: "[sauna](activity)?" -> "sauna?"."""
    return _MARKUP.sub(r"\1", example)


def normalise(text: str) -> str:
    """Lowercase, markup removed, punctuation dropped, whitespace collapsed."""
    text = plain(text).lower()
    text = re.sub(r"[^\w\s']", " ", text)
    return " ".join(text.replace("'", "").split())


def nlu_examples(nlu_dir: Path) -> Iterator[tuple[str, str]]:
    """(intent, plain text) for every example in every NLU YAML file under ``nlu_dir``."""
    for path in sorted(nlu_dir.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in document.get("nlu") or []:
            intent = block.get("intent")
            examples = block.get("examples")
            if not intent or examples is None:
                continue
            if isinstance(examples, str):
                lines = [line.strip()[2:] for line in examples.splitlines() if line.strip()]
            else:
                lines = [str(item.get("text", "")).strip() for item in examples]
            for line in lines:
                if line:
                    yield intent, plain(line)


@dataclass(frozen=True)
class NearCopy:
    item: str
    example: str
    ratio: float


def similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def near_copies(
    items: Iterable[str], examples: Iterable[str], threshold: float = NEAR_COPY_RATIO
) -> list[NearCopy]:
    """Items equal to an example once normalised, or at least ``threshold`` similar.

    Compared on normalised text. Lengths bound the ratio (2·min/(a+b)), so most pairs
    are skipped without running the matcher.
    """
    by_length: dict[int, list[str]] = {}
    exact: set[str] = set()
    for example in examples:
        norm = normalise(example)
        exact.add(norm)
        by_length.setdefault(len(norm), []).append(norm)
    found: list[NearCopy] = []
    for item in items:
        norm = normalise(item)
        if norm in exact:
            found.append(NearCopy(item, norm, 1.0))
            continue
        best: NearCopy | None = None
        size = len(norm)
        for length, candidates in by_length.items():
            if size + length == 0 or 2 * min(size, length) / (size + length) < threshold:
                continue
            for candidate in candidates:
                matcher = SequenceMatcher(None, norm, candidate, autojunk=False)
                if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                    continue
                ratio = matcher.ratio()
                if ratio >= threshold and (best is None or ratio > best.ratio):
                    best = NearCopy(item, candidate, ratio)
        if best is not None:
            found.append(best)
    return found
