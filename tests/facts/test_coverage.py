"""`python -m bot facts coverage` over the five articles."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from bot.facts import cli
from bot.facts.coverage import check_coverage
from bot.facts.loader import Curation, load_curation
from bot.facts.text import Sentence, is_fact_bearing, split_sentences
from tests.facts.conftest import require_articles


def run_coverage(facts_dir: Path, sources: Path) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="group"))
    args = parser.parse_args(
        ["facts", "coverage", "--sources", str(sources), "--facts-dir", str(facts_dir)]
    )
    return args.handler(args)


def test_every_fact_bearing_sentence_is_covered_or_excluded(
    curation: Curation, articles: dict[str, list[Sentence]]
) -> None:
    report = check_coverage(curation, articles)
    assert not report.failed_citations
    assert not report.unmatched_exclusions
    assert not [f"{s.source_id} #{s.index}: {s.text[:60]}" for s in report.uncovered]
    assert report.ok
    assert report.covered > 150
    reasons = {exclusion.reason.split(":")[0] for _, exclusion in report.excluded}
    assert {"marketing", "clinic details", "page boilerplate", "PRP-only"} <= reasons


def test_vizox_hours_and_address_are_excluded_not_facts(
    curation: Curation, articles: dict[str, list[Sentence]]
) -> None:
    report = check_coverage(curation, articles)
    clinic = [s.text for s, e in report.excluded if e.reason.startswith("clinic details")]
    assert len(clinic) == 2
    assert any("PM" in text for text in clinic) and any("Canada" in text for text in clinic)
    texts = " ".join(fact.text for fact in curation.facts)
    for detail in ("Saskatoon", "Payne", "6.30", "Chandigarh"):
        assert detail not in texts


def test_coverage_cli_passes_on_the_five_articles(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.facts.conftest import FACTS_DIR

    assert run_coverage(FACTS_DIR, require_articles()) == 0
    out = capsys.readouterr().out
    assert "aftercare.hair_washing_wait" in out and "coverage OK" in out


def test_coverage_fails_on_an_uncovered_sentence(
    facts_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = require_articles()
    path = facts_copy / "exclusions.yml"
    data = yaml.safe_load(path.read_text())
    data["exclusions"] = [e for e in data["exclusions"] if "Saskatoon" not in e["match"]]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    load_curation(facts_copy)  # still valid YAML

    assert run_coverage(facts_copy, sources) == 1
    out = capsys.readouterr().out
    assert "no fact covers" in out and "vizox-clinique" in out and "coverage FAILED" in out


def test_missing_articles_directory_exits_2(tmp_path: Path) -> None:
    from tests.facts.conftest import FACTS_DIR

    assert run_coverage(FACTS_DIR, tmp_path / "nowhere") == 2


def test_fact_bearing_heuristic() -> None:
    sentences = split_sentences(
        "How Long Does It Last?\nAfter the Session\nGenetics.\n"
        "It takes about ten sessions to see a change.\n09.00 AM - 6.30 PM\n"
    )
    assert [is_fact_bearing(s) for s in sentences] == [False, False, False, True, True]
