#!/usr/bin/env python
"""Report NLU examples that are (near-)duplicates across different intents.

Two examples in different intents whose texts are identical, or whose
``difflib.SequenceMatcher`` ratio is at least the threshold (0.9 by default), teach the
classifier contradictory things. This script loads every intent example under
``data/nlu/`` (recursively, ``*.yml`` and ``*.yaml``), strips entity markup such as
``[x](entity)`` and ``[x]{"entity": ...}`` to the plain text, lowercases and
whitespace-normalises it, and compares every pair of examples from different intents.

Usage::

    .venv/bin/python scripts/check_nlu_duplicates.py [PATH ...] [--threshold 0.9]

Exit status: 0 when nothing is found, 1 when at least one pair is reported, 2 when a
file cannot be read.

Speed: examples are sorted by length, and a pair is only compared when the lengths allow
the ratio to reach the threshold (``2 * min / (len_a + len_b) >= threshold``). Each
remaining pair goes through ``real_quick_ratio()`` and ``quick_ratio()``, which are
upper bounds of ``ratio()``, before the exact ratio is computed. About 8,000 examples
take a few seconds.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import yaml
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / "data" / "nlu"
DEFAULT_THRESHOLD = 0.9

# Rasa's own annotation pattern (rasa.shared.nlu.training_data.entities_parser), so the
# plain text is exactly what Rasa trains on: [text](entity), [text](entity:value),
# [text]{"entity": ...} and [text][{...}, {...}].
ENTITY_MARKUP = re.compile(
    r"\[(?P<entity_text>[^\]]+?)\]"
    r"(\((?P<entity>[^:)]+?)(?:\:(?P<value>[^)]+))?\)"
    r"|\{(?P<entity_dict>[^}]+?)\}"
    r"|\[(?P<list_entity_dicts>.*?)\])"
)
WHITESPACE = re.compile(r"\s+")
_EPSILON = 1e-9  # float slack so a bound exactly at the threshold is kept


class NearDuplicate(NamedTuple):
    """Two examples of different intents; ``ratio`` is 1.0 for an exact duplicate."""

    text_a: str
    intent_a: str
    text_b: str
    intent_b: str
    ratio: float

    @property
    def exact(self) -> bool:
        return normalise(self.text_a) == normalise(self.text_b)


class Example(NamedTuple):
    text: str
    intent: str
    path: Path


def strip_markup(text: str) -> str:
    """``"i'm [pregnant]{"entity": ...}?"`` -> ``"i'm pregnant?"``."""
    return ENTITY_MARKUP.sub(lambda match: match.group("entity_text"), text)


def normalise(text: str) -> str:
    """Lowercase, collapse whitespace and trim: the form that is compared."""
    return WHITESPACE.sub(" ", text).strip().lower()


def near_duplicates_across_intents(
    examples: list[tuple[str, str]], threshold: float = DEFAULT_THRESHOLD
) -> list[NearDuplicate]:
    """Pairs of examples in different intents with similarity >= ``threshold``.

    ``examples`` holds ``(text, intent)`` tuples of plain text (strip entity markup
    first). Texts are compared lowercased and whitespace-normalised with
    ``SequenceMatcher(None, a, b).ratio()``; a pair counts when the ratio reaches the
    threshold in either argument order (``ratio()`` is not always symmetric). Exact
    duplicates across intents are reported with ratio 1.0. Repeats of the same text in
    the same intent are ignored. Pairs come sorted by descending ratio, then by text.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")

    # One entry per distinct normalised text, with every intent it appears in and the
    # first original spelling per intent.
    spellings: dict[str, dict[str, str]] = defaultdict(dict)
    for text, intent in examples:
        key = normalise(text)
        if key:
            spellings[key].setdefault(intent, text)

    found: list[NearDuplicate] = []

    # Exact duplicates: the same normalised text in two or more intents.
    for by_intent in spellings.values():
        intents = sorted(by_intent)
        for i, intent_a in enumerate(intents):
            for intent_b in intents[i + 1 :]:
                found.append(
                    NearDuplicate(by_intent[intent_a], intent_a, by_intent[intent_b], intent_b, 1.0)
                )

    # Near duplicates between distinct texts. Sorted by length, a text only has to be
    # compared with the following texts whose length can still reach the threshold:
    # ratio <= 2 * len_a / (len_a + len_b) when len_a <= len_b.
    keys = sorted(spellings, key=len)
    lengths = np.array([len(key) for key in keys], dtype=np.int64)
    ends = np.searchsorted(lengths, lengths * (2.0 - threshold) / threshold + _EPSILON, "right")
    counts = _character_counts(keys)
    matcher = SequenceMatcher(None, autojunk=True)
    reverse = SequenceMatcher(None, autojunk=True)
    for i, key_a in enumerate(keys):
        start, end = i + 1, int(ends[i])
        if start >= end:
            continue
        # Characters in common (as a multiset) bound ratio() from above: this is what
        # quick_ratio() computes, done for the whole window at once.
        common = np.minimum(counts[i], counts[start:end]).sum(axis=1)
        bound = 2.0 * common / (lengths[i] + lengths[start:end])
        candidates = np.nonzero(bound >= threshold - _EPSILON)[0]
        if candidates.size == 0:
            continue
        intents_a = spellings[key_a]
        matcher.set_seq2(key_a)  # seq2 is cached: compare many seq1 against it
        for offset in candidates:
            key_b = keys[start + int(offset)]
            intents_b = spellings[key_b]
            if len(intents_a) == 1 and intents_a.keys() == intents_b.keys():
                continue  # same single intent: not a conflict
            matcher.set_seq1(key_b)
            if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                continue
            ratio = matcher.ratio()
            if ratio < threshold:
                reverse.set_seqs(key_a, key_b)
                ratio = max(ratio, reverse.ratio())
                if ratio < threshold:
                    continue
            for intent_a, text_a in intents_a.items():
                for intent_b, text_b in intents_b.items():
                    if intent_a != intent_b:
                        found.append(NearDuplicate(text_a, intent_a, text_b, intent_b, ratio))

    found.sort(key=lambda pair: (-pair.ratio, normalise(pair.text_a), pair.intent_a))
    return found


def _character_counts(texts: list[str]) -> NDArray[np.int32]:
    """One row per text: how often each character occurs in it."""
    alphabet = {char: index for index, char in enumerate(sorted(set("".join(texts))))}
    counts = np.zeros((len(texts), max(len(alphabet), 1)), dtype=np.int32)
    for row, text in enumerate(texts):
        for char in text:
            counts[row, alphabet[char]] += 1
    return counts


def nlu_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every YAML file under the given files or directories, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in {".yml", ".yaml"})
        else:
            yield path


def _examples_in_block(block: Any) -> Iterator[str]:
    """Example texts of one ``examples:`` value, parsed as Rasa parses it."""
    if isinstance(block, str):
        for line in block.splitlines():
            if line.startswith("-"):
                yield line[1:].strip("\n\r ")
    elif isinstance(block, list):
        for item in block:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                yield item["text"].strip("\n\r ")


def load_examples(path: Path) -> list[Example]:
    """Plain-text intent examples of one Rasa YAML file (synonyms, lookups skipped)."""
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict) or not isinstance(document.get("nlu"), list):
        return []
    examples: list[Example] = []
    for item in document["nlu"]:
        if not isinstance(item, dict) or "intent" not in item:
            continue
        intent = str(item["intent"])
        for raw in _examples_in_block(item.get("examples")):
            text = strip_markup(raw)
            if text.strip():
                examples.append(Example(text, intent, path))
    return examples


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "paths", nargs="*", type=Path, default=[DEFAULT_PATH], help="files or directories"
    )
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    files = list(nlu_files(args.paths))
    examples: list[Example] = []
    for path in files:
        try:
            examples.extend(load_examples(path))
        except (OSError, yaml.YAMLError) as error:
            print(f"error: cannot read {path}: {error}", file=sys.stderr)
            return 2

    where: dict[tuple[str, str], set[str]] = defaultdict(set)
    for example in examples:
        where[(normalise(example.text), example.intent)].add(_display(example.path))

    pairs = near_duplicates_across_intents(
        [(example.text, example.intent) for example in examples], args.threshold
    )
    elapsed = time.perf_counter() - started
    exact = [pair for pair in pairs if pair.exact]
    intents = {example.intent for example in examples}

    print(
        f"{len(examples)} examples in {len(intents)} intents from {len(files)} files; "
        f"threshold {args.threshold:.2f}; {elapsed:.1f} s"
    )
    if not pairs:
        print("OK: no exact or near duplicates across intents.")
        return 0

    print(
        f"FOUND {len(pairs)} pair(s) across intents: {len(exact)} exact duplicate(s), "
        f"{len(pairs) - len(exact)} near duplicate(s)."
    )
    for pair in pairs:
        label = "exact" if pair.exact else f"{pair.ratio:.3f}"
        files_a = ", ".join(sorted(where[(normalise(pair.text_a), pair.intent_a)]))
        files_b = ", ".join(sorted(where[(normalise(pair.text_b), pair.intent_b)]))
        print(f"\n[{label}]")
        print(f"  {pair.intent_a:<24} {pair.text_a!r}  ({files_a})")
        print(f"  {pair.intent_b:<24} {pair.text_b!r}  ({files_b})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
