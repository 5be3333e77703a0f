"""One vocabulary: the NLU's entity synonyms and lookup tables are generated from
data/facts/vocabulary.yml (`python -m bot nlu sync`) and must not drift from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot import PROJECT_ROOT
from bot.facts.nlu_sync import GENERATED, KINDS, LOOKUP_KINDS, VocabularyConflict, render, sync

VOCABULARY = PROJECT_ROOT / "data" / "facts" / "vocabulary.yml"


def test_the_generated_synonyms_match_the_vocabulary() -> None:
    assert GENERATED.read_text(encoding="utf-8") == render(), (
        "data/nlu/generated/synonyms.yml is stale: run `.venv/bin/python -m bot nlu sync`"
    )


def test_no_other_nlu_file_defines_synonyms_or_lookups_of_the_vocabulary() -> None:
    vocabulary = yaml.safe_load(VOCABULARY.read_text(encoding="utf-8"))["vocabulary"]
    values = {value for kind in KINDS for value in vocabulary[kind]}
    found = []
    for path in (PROJECT_ROOT / "data" / "nlu").rglob("*.yml"):
        if path == GENERATED:
            continue
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if block.get("synonym") in values or block.get("lookup") in KINDS:
                found.append(f"{path.relative_to(PROJECT_ROOT)}: {block}")
    assert not found, "edit data/facts/vocabulary.yml instead:\n" + "\n".join(found)


def test_every_lookup_form_is_a_form_of_its_kind() -> None:
    data = yaml.safe_load(VOCABULARY.read_text(encoding="utf-8"))
    generated = yaml.safe_load(GENERATED.read_text(encoding="utf-8"))["nlu"]
    for kind in LOOKUP_KINDS:
        forms = set(data["vocabulary"][kind])
        for spec in data["vocabulary"][kind].values():
            forms |= {s.lower() for s in spec.get("synonyms", []) + spec.get("nlu_variants", [])}
        unknown = set(data["nlu_lookup"][kind]) - forms
        assert not unknown, f"nlu_lookup {kind}: not a form of any value: {sorted(unknown)}"
    assert {b["lookup"] for b in generated if "lookup" in b} == set(LOOKUP_KINDS)


def test_a_form_for_two_values_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(VOCABULARY.read_text(encoding="utf-8"))
    data["vocabulary"]["activity"]["sauna"]["nlu_variants"] = ["gym"]  # exercise's
    vocabulary = tmp_path / "vocabulary.yml"
    vocabulary.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(VocabularyConflict, match="'gym'"):
        sync(tmp_path / "synonyms.yml", vocabulary)


def test_sync_writes_what_render_returns(tmp_path: Path) -> None:
    target = tmp_path / "synonyms.yml"
    assert sync(target) is True
    assert target.read_text(encoding="utf-8") == render()
    assert sync(target) is False  # unchanged: not rewritten


def test_no_generated_synonym_contradicts_the_other_nlu_data() -> None:
    """Rasa merges every synonym (blocks and `[text]{"value": ...}` annotations) into one
    map: a form with two values would be silently overwritten."""
    generated = dict(_synonym_pairs(yaml.safe_load(GENERATED.read_text(encoding="utf-8"))))
    annotation = re.compile(r'\[([^\]]+)\]\{"entity":\s*"\w+",\s*"value":\s*"([^"]+)"')
    clashes = []
    for path in (PROJECT_ROOT / "data" / "nlu").rglob("*.yml"):
        if path == GENERATED:
            continue
        text = path.read_text(encoding="utf-8")
        pairs = [(m.group(1).lower(), m.group(2)) for m in annotation.finditer(text)]
        pairs += _synonym_pairs(yaml.safe_load(text))
        clashes += [
            f"{path.relative_to(PROJECT_ROOT)}: '{form}' -> {value}, generated -> {generated[form]}"
            for form, value in pairs
            if form in generated and generated[form] != value
        ]
    assert not clashes, "list the form under not_nlu in the vocabulary:\n" + "\n".join(clashes)


def _synonym_pairs(data: dict | None) -> list[tuple[str, str]]:
    """(form, value) of every `- synonym:` block of an NLU file."""
    return [
        (line.strip()[2:].lower(), block["synonym"])
        for block in (data or {}).get("nlu") or []
        if "synonym" in block
        for line in block["examples"].split("\n")
        if line.strip()
    ]
