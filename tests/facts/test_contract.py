"""data/facts and bot.facts.contract agree with docs/architecture.md and sources.yml."""

from __future__ import annotations

import re

import yaml

from bot import PROJECT_ROOT
from bot.facts.contract import ENTITY_VALUES, TOPICS
from tests.facts.conftest import FACTS_DIR, require_articles

ARCHITECTURE = (PROJECT_ROOT / "docs" / "architecture.md").read_text()


def test_topics_match_the_architecture_table() -> None:
    section = ARCHITECTURE.split("## Fact-base topics and intents", 1)[1].split("## ", 1)[0]
    documented = re.findall(r"^\| (\w+) \| ", section, flags=re.MULTILINE)
    assert tuple(t for t in documented if t != "topic") == TOPICS


def test_entity_values_match_the_architecture_lists() -> None:
    section = ARCHITECTURE.split("## Entities", 1)[1].split("\n## ", 1)[0]
    for kind, values in ENTITY_VALUES.items():
        match = re.search(
            rf"^- `{kind}`(?: \([^)]*\))?:(.*?)(?=^- `|\n\n|\Z)", section, re.M | re.S
        )
        assert match, kind
        documented = tuple(v.strip() for v in match.group(1).replace("\n", " ").split(","))
        assert documented == values, kind


def test_repo_copy_of_sources_matches_the_shared_sources() -> None:
    shared = yaml.safe_load((require_articles() / "sources.yml").read_text())["sources"]
    ours = yaml.safe_load((FACTS_DIR / "sources.yml").read_text())["sources"]
    keys = ("id", "file", "title", "publisher", "date")
    assert [{k: s.get(k) for k in keys} for s in ours] == [
        {k: str(s[k]) if s.get(k) is not None else None for k in keys} for s in shared
    ]


def test_fact_files_are_not_rasa_training_data() -> None:
    import rasa.shared.nlu.training_data.formats.rasa_yaml as rasa_yaml
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

    for path in FACTS_DIR.glob("*.yml"):
        assert not rasa_yaml.RasaYAMLReader.is_yaml_nlu_file(path), path
        assert not YAMLStoryReader.is_stories_file(path), path
