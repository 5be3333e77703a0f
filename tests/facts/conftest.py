"""Fixtures for the fact-base tests: the real curated data, the real articles, a real
SQLite fact base built once per session. spaCy is loaded once (bot.nlp caches it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot import PROJECT_ROOT
from bot.config import get_settings
from bot.facts.build import build
from bot.facts.coverage import load_articles
from bot.facts.loader import Curation, load_curation
from bot.facts.query import FactBase
from bot.facts.text import Sentence

FACTS_DIR = PROJECT_ROOT / "data" / "facts"
FIXTURES = Path(__file__).parent / "fixtures"


def sources_dir() -> Path:
    return get_settings().sources_dir


def require_articles() -> Path:
    """The shared articles directory. Missing, the evidence tests fail rather than skip:
    a green suite must mean every fact was checked against its article."""
    directory = sources_dir()
    if not (directory / "sources.yml").is_file():
        pytest.fail(
            f"the source articles are not at {directory}: the fact-evidence tests check "
            "every fact against them. Put the articles (sources.yml and the texts) there, "
            "or set MESO_SOURCES_DIR to the directory that holds them.",
            pytrace=False,
        )
    return directory


@pytest.fixture(scope="session")
def curation() -> Curation:
    return load_curation(FACTS_DIR)


@pytest.fixture(scope="session")
def articles(curation: Curation) -> dict[str, list[Sentence]]:
    return load_articles(require_articles(), list(curation.sources))


@pytest.fixture(scope="session")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db_path = tmp_path_factory.mktemp("factbase") / "facts.db"
    url = f"sqlite:///{db_path}"
    build(FACTS_DIR, url, echo=lambda _line: None)
    return url


@pytest.fixture(scope="session")
def fact_base(built_db: str) -> FactBase:
    return FactBase(create_engine(built_db))


@pytest.fixture()
def facts_copy(tmp_path: Path) -> Path:
    """A writable copy of data/facts/ to break in build-error tests."""
    target = tmp_path / "facts"
    shutil.copytree(FACTS_DIR, target)
    return target
