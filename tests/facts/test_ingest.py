"""`python -m bot facts ingest` on a small article written for these tests."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from bot.facts import cli
from bot.facts.contract import RASA_TRAINING_KEYS
from bot.facts.ingest import Tagger, analyse
from bot.facts.loader import Curation
from tests.facts.conftest import FIXTURES

ARTICLE = FIXTURES / "scalp_care_note.txt"


def candidates_by_start(curation: Curation) -> dict[str, object]:
    _, candidates = analyse(ARTICLE.read_text(), "scalp-care-note", curation, Tagger(curation))
    return {c.sentence.text.split()[0] + " " + c.sentence.text.split()[1]: c for c in candidates}


def test_ingest_tags_topics_qualifiers_and_spans(curation: Curation) -> None:
    found = candidates_by_start(curation)
    course = found["Most practitioners"]
    assert course.topics[:2] == ["session_duration", "number_of_sessions"] or {
        "session_duration",
        "number_of_sessions",
    } <= set(course.topics)
    assert {(s["min"], s["max"], s["unit"]) for s in course.spans} == {
        (8, 12, "sessions"),
        (20, 20, "minutes"),
    }
    sauna = found["Avoid the"]
    assert sauna.qualifiers == {"activity": ["sauna"]}
    assert sauna.topics[0] == "aftercare"
    assert [(s["min"], s["max"], s["unit"]) for s in sauna.spans] == [(1, 2, "weeks")]
    washing = found["Wait 48"]
    assert washing.qualifiers["activity"] == ["hair_washing", "dry_shampoo"]
    assert washing.spans[0]["min"] == 48 and washing.spans[0]["unit"] == "hours"
    ingredients = found["Biotin and"]
    assert ingredients.qualifiers == {"ingredient": ["biotin", "zinc"]}
    assert "ingredients" in ingredients.topics
    redness = found["Mild redness"]
    assert redness.qualifiers == {"side_effect": ["redness"]}
    assert (redness.spans[0]["min"], redness.spans[0]["max"]) == (None, 1)
    later = found["Some people"]
    assert (later.spans[0]["min"], later.spans[0]["max"], later.spans[0]["unit"]) == (
        3,
        None,
        "months",
    )
    assert "results_timeline" in later.topics


def test_headings_and_boilerplate_are_not_candidates(curation: Curation) -> None:
    found = candidates_by_start(curation)
    assert "How many" not in found and "Leave a" not in found and "Please enter" not in found


def test_ingest_cli_writes_a_review_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "review.yml"
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="group"))
    args = parser.parse_args(
        ["facts", "ingest", str(ARTICLE), "--source-id", "scalp-care-note",
         "--title", "Scalp Care Notes", "--out", str(out)]
    )  # fmt: skip
    assert args.handler(args) == 0
    assert "Review file written" in capsys.readouterr().out
    review = yaml.safe_load(out.read_text())
    assert review["source"]["id"] == "scalp-care-note"
    assert review["summary"]["fact_bearing"] == len(review["candidates"]) == 7
    draft = next(c["draft"] for c in review["candidates"] if "sauna" in c["quote"])
    assert draft["topic"] == "aftercare"
    assert draft["span"] == {"min": 1, "max": 2, "unit": "weeks"}
    assert draft["sources"][0]["id"] == "scalp-care-note"
    assert "sauna" in draft["sources"][0]["evidence"]
    assert not set(review) & set(RASA_TRAINING_KEYS)


def test_reingesting_a_curated_article_shows_existing_facts(
    curation: Curation, articles: dict
) -> None:
    from tests.facts.conftest import sources_dir

    path = sources_dir() / "003_a74fd4f2cb8e7e15.txt"
    _, candidates = analyse(path.read_text(), "vizox-clinique", curation, Tagger(curation))
    covered = [c for c in candidates if c.covered_by]
    assert len(covered) > 40
    assert any("aftercare.hair_washing_wait" in c.covered_by for c in covered)
