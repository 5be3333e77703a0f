"""`python -m bot facts build`: validation errors, atomic replace, idempotence."""

from __future__ import annotations

import argparse
import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.facts import cli
from bot.facts.build import build
from bot.facts.loader import CurationError, load_curation
from bot.facts.query import FactBase
from tests.facts.conftest import FACTS_DIR

GOOD_FACT = """\
facts:
  - id: aftercare.test_fact
    topic: aftercare
    text: One article has a fact written for the tests.
    sources:
      - id: vizox-clinique
        evidence: [sun]
"""
PROBLEM = re.compile(r"^(?P<file>\S+):(?P<line>\d+): (?P<message>.+)$")


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="group"))
    args = parser.parse_args(["facts", *argv])
    return args.handler(args)


def problems_for(facts_dir: Path) -> list[tuple[str, int, str]]:
    with pytest.raises(CurationError) as raised:
        load_curation(facts_dir)
    parsed = []
    for problem in raised.value.problems:
        match = PROBLEM.match(str(problem))
        assert match, f"not in file:line: message form: {problem}"
        parsed.append((match["file"], int(match["line"]), match["message"]))
    return parsed


def test_the_curated_data_is_valid(facts_copy: Path) -> None:
    (facts_copy / "extra.yml").write_text(GOOD_FACT)
    curation = load_curation(facts_copy)
    assert "aftercare.test_fact" in {fact.id for fact in curation.facts}


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("id: vizox-clinique", "id: no-such-article", 6, "unknown source id 'no-such-article'"),
        ("topic: aftercare", "topic: nowhere", 3, "unknown topic 'nowhere'"),
        (
            "aftercare.test_fact",
            "aftercare.sauna_avoid",
            2,
            "duplicate fact id 'aftercare.sauna_avoid'",
        ),
        ("    text: One article has a fact written for the tests.\n", "", 2, "missing text"),
        ("    sources:", "    claim: praise\n    sources:", 5, "claim of fact"),
        ("One article has", "The articles have", 2, "says 'The articles' but cites 1"),
        ("One article has", "It has", 2, "cites one article, so the text must say so"),
        ("    sources:", "    hedge: [may]\n    sources:", 2, "drops the source's hedge 'may'"),
        (
            "    sources:",
            "    claim: benefit\n    qualifiers:\n      condition: [psoriasis]\n    sources:",
            2,
            "is a benefit claim qualified by the condition(s) psoriasis",
        ),
        ("evidence: [sun]", "evidence: []", 6, "missing evidence for source 'vizox-clinique'"),
        (
            "    sources:",
            "    qualifiers:\n      activity: [skydiving]\n    sources:",
            6,
            "unknown qualifier value 'skydiving' for activity",
        ),
        ("evidence: [sun]", "evidence: [sun", 8, "not valid YAML"),
        ("    text:", "    nlu: x\n    text:", 4, "makes Rasa read this file as training data"),
    ],
)
def test_build_errors_name_file_and_line(
    facts_copy: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in GOOD_FACT
    (facts_copy / "extra.yml").write_text(GOOD_FACT.replace(old, new, 1))
    problems = problems_for(facts_copy)
    assert any(
        file.endswith("extra.yml") and got_line == line and message in got_message
        for file, got_line, got_message in problems
    ), problems


def test_duplicate_id_says_where_it_was_first_defined(facts_copy: Path) -> None:
    (facts_copy / "extra.yml").write_text(
        GOOD_FACT.replace("aftercare.test_fact", "aftercare.sauna_avoid")
    )
    [(_, _, message)] = problems_for(facts_copy)
    assert re.search(r"first defined at \S+before_after\.yml:\d+", message)


def test_unknown_exclusion_source_and_missing_reason(facts_copy: Path) -> None:
    path = facts_copy / "exclusions.yml"
    path.write_text(
        "exclusions:\n"
        "  - source: nowhere\n"
        "    match: [x]\n"
        "    reason: 'marketing: x'\n"
        "  - source: vizox-clinique\n"
        "    match: [x]\n"
    )
    messages = {(line, message) for _, line, message in problems_for(facts_copy)}
    assert (2, "unknown source id 'nowhere'") in messages
    assert (5, "missing reason in exclusion") in messages


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_failed_build_leaves_the_previous_database_intact(
    facts_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "var" / "facts.db"
    url = f"sqlite:///{db}"
    assert run_cli("build", "--facts-dir", str(facts_copy), "--db-url", url) == 0
    before = _digest(db)
    (facts_copy / "extra.yml").write_text(GOOD_FACT.replace("topic: aftercare", "topic: nowhere"))
    capsys.readouterr()

    assert run_cli("build", "--facts-dir", str(facts_copy), "--db-url", url) == 1

    err = capsys.readouterr().err
    assert re.search(r"extra\.yml:3: unknown topic 'nowhere'", err)
    assert "left unchanged" in err
    assert _digest(db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["facts.db"]  # no temp files
    assert len(FactBase(create_engine(url)).facts()) == len(load_curation(FACTS_DIR).facts)


def _dump(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    tables = ["sources", "topics", "facts", "fact_sources", "fact_qualifiers", "vocabulary",
              "synonyms", "word_forms"]  # fmt: skip
    with engine.connect() as conn:
        dump = {t: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {t}")))) for t in tables}
    engine.dispose()
    return dump


def test_build_is_idempotent_and_reports_progress(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'facts.db'}"
    lines: list[str] = []
    first = build(FACTS_DIR, url, echo=lines.append)
    dump = _dump(url)
    second = build(FACTS_DIR, url, echo=lambda _line: None)
    assert _dump(url) == dump
    assert first.facts == second.facts == len(dump["facts"]) > 80
    assert any(line.startswith("Done:") for line in lines)
    assert any("before_after.yml" in line for line in lines)


def test_build_in_one_transaction_for_non_file_urls(tmp_path: Path) -> None:
    # A SQLite URI is not replaced by file rename, so this exercises the path that
    # PostgreSQL and other servers take.
    url = f"sqlite:///file:{tmp_path / 'uri.db'}?uri=true"
    build(FACTS_DIR, url, echo=lambda _line: None)
    build(FACTS_DIR, url, echo=lambda _line: None)
    fact_base = FactBase(create_engine(url))
    assert len(fact_base.facts()) == len(load_curation(FACTS_DIR).facts)
