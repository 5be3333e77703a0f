"""Rebuild the fact-base database from the curated YAML.

Validation happens first and writes nothing. For a SQLite file the new database is
written next to the old one and moved over it in one rename, so readers (the action
server) see either the old or the new fact base, never half of one. Other databases
are rewritten in a single transaction.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection, make_url

from bot.facts.contract import TOPICS
from bot.facts.loader import Curation, SpanSpec, load_curation
from bot.facts.models import (
    TABLES_IN_DELETE_ORDER,
    Base,
    BuildInfoRow,
    FactQualifierRow,
    FactRow,
    FactSourceRow,
    SourceRow,
    SynonymRow,
    TopicRow,
    VocabularyRow,
    WordFormRow,
)
from bot.facts.normalize import inflections, normalize, words

Echo = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    db_url: str
    facts: int
    sources: int
    topics: int
    vocabulary: int
    synonyms: int
    seconds: float


def sqlite_file(db_url: str) -> Path | None:
    """The database file of a file-based SQLite URL, else None."""
    url = make_url(db_url)
    if not url.drivername.startswith("sqlite"):
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def word_forms(curation: Curation) -> dict[str, str]:
    """Inflected form -> lemma for every word the fact base can be asked about."""
    from bot.facts.text import lemma  # spaCy is only needed at build time

    texts: list[str] = []
    for entries in curation.vocabulary.values():
        for entry in entries.values():
            texts.extend((entry.value, entry.label, *entry.synonyms))
    for topic in curation.topics.values():
        texts.extend((topic.label, *topic.keywords))
    texts.extend(fact.text for fact in curation.facts)
    forms: dict[str, str] = {}
    for word in sorted({w for text in texts for w in words(text)}):
        base = lemma(word)
        if base != word:
            forms[word] = base
        for candidate in inflections(base):
            if candidate != base and lemma(candidate) == base:
                forms.setdefault(candidate, base)
    return forms


def _span_columns(span: SpanSpec | None) -> dict[str, object]:
    if span is None:
        return {"span_min": None, "span_max": None, "span_unit": None}
    return {"span_min": span.min, "span_max": span.max, "span_unit": span.unit}


def _digest(curation: Curation, sources_yml: Path | None) -> str:
    digest = hashlib.sha256()
    paths = sorted(curation.facts_dir.glob("*.yml"))
    if sources_yml is not None:
        paths.append(sources_yml)
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _rows(curation: Curation, forms: dict[str, str], digest: str) -> dict[type, list[dict]]:
    rows: dict[type, list[dict]] = {table: [] for table in TABLES_IN_DELETE_ORDER}
    for position, source in enumerate(curation.sources.values()):
        rows[SourceRow].append(
            {
                "id": source.id,
                "title": source.title,
                "publisher": source.publisher,
                "date": source.date,
                "file": source.file,
                "position": position,
            }
        )
    for position, topic_id in enumerate(TOPICS):
        topic = curation.topics[topic_id]
        rows[TopicRow].append(
            {
                "id": topic.id,
                "label": topic.label,
                "keywords": list(topic.keywords),
                "position": position,
            }
        )
    for position, fact in enumerate(curation.facts):
        rows[FactRow].append(
            {
                "id": fact.id,
                "topic": fact.topic,
                "text": fact.text,
                "phase": fact.phase,
                "priority": fact.priority,
                "position": position,
                "origin": f"{fact.file}:{fact.line}",
                "hedges": list(fact.hedges),
                "claim": fact.claim,
                **_span_columns(fact.span),
            }
        )
        for cite_position, citation in enumerate(fact.citations):
            rows[FactSourceRow].append(
                {
                    "fact_id": fact.id,
                    "source_id": citation.source_id,
                    "position": cite_position,
                    "evidence": list(citation.evidence),
                    "says": citation.says,
                    **_span_columns(citation.span),
                }
            )
        for kind, values in fact.qualifiers.items():
            for value in values:
                rows[FactQualifierRow].append({"fact_id": fact.id, "kind": kind, "value": value})
    known = set(forms.values())
    for kind, entries in curation.vocabulary.items():
        for position, entry in enumerate(entries.values()):
            rows[VocabularyRow].append(
                {
                    "kind": kind,
                    "value": entry.value,
                    "label": entry.label,
                    "related": [f"{k}:{v}" for k, v in entry.related],
                    "related_topics": list(entry.related_topics),
                    "position": position,
                }
            )
            # The value id and its label are always accepted surface forms.
            surfaces = dict.fromkeys((entry.value.replace("_", " "), entry.label, *entry.synonyms))
            for surface in surfaces:
                rows[SynonymRow].append(
                    {
                        "kind": kind,
                        "value": entry.value,
                        "text": surface,
                        "norm": " ".join(normalize(surface, forms, known)),
                    }
                )
    rows[WordFormRow] = [{"form": form, "lemma": base} for form, base in sorted(forms.items())]
    rows[BuildInfoRow] = [
        {"key": "built_at", "value": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        {"key": "input_digest", "value": digest},
        {"key": "facts", "value": str(len(curation.facts))},
    ]
    return rows


def _write(conn: Connection, rows: dict[type, list[dict]]) -> None:
    if _outdated_schema(conn):
        # Everything here is rebuilt from YAML, so an older layout is simply replaced.
        Base.metadata.drop_all(conn)
    Base.metadata.create_all(conn)
    for table in TABLES_IN_DELETE_ORDER:
        conn.execute(table.__table__.delete())
    for table in reversed(TABLES_IN_DELETE_ORDER):
        if rows[table]:
            conn.execute(table.__table__.insert(), rows[table])


def _outdated_schema(conn: Connection) -> bool:
    """True when an existing table lacks a column this version writes."""
    inspector = inspect(conn)
    for table in Base.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        have = {column["name"] for column in inspector.get_columns(table.name)}
        if set(table.columns.keys()) - have:
            return True
    return False


def _write_database(db_url: str, rows: dict[type, list[dict]]) -> None:
    target = sqlite_file(db_url)
    if target is None:
        engine = create_engine(db_url)
        try:
            with engine.begin() as conn:
                _write(conn, rows)
        finally:
            engine.dispose()
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.building-{os.getpid()}")
    temp.unlink(missing_ok=True)
    engine = create_engine(make_url(db_url).set(database=str(temp)))
    try:
        with engine.begin() as conn:
            _write(conn, rows)
        engine.dispose()
        os.replace(temp, target)
    finally:
        engine.dispose()
        temp.unlink(missing_ok=True)


def build(
    facts_dir: Path,
    db_url: str,
    sources_yml: Path | None = None,
    echo: Echo = print,
) -> BuildResult:
    """Validate ``facts_dir`` and replace the database at ``db_url`` with it.

    Raises ``bot.facts.loader.CurationError`` (nothing written) if the YAML has problems.
    """
    started = time.perf_counter()
    echo(f"Reading curated facts from {facts_dir}")
    curation = load_curation(facts_dir, sources_yml)
    for file in curation.fact_files():
        count = sum(1 for fact in curation.facts if fact.file == file)
        echo(f"  {file}: {count} facts")
    echo(
        f"  {len(curation.sources)} sources, {len(curation.exclusions)} exclusions, "
        f"{sum(len(v) for v in curation.vocabulary.values())} vocabulary values"
    )
    echo("Computing word forms for synonym lookups (spaCy lookup lemmatizer)")
    forms = word_forms(curation)
    rows = _rows(curation, forms, _digest(curation, sources_yml))
    echo(f"Writing {len(curation.facts)} facts to {make_url(db_url).render_as_string()}")
    _write_database(db_url, rows)
    result = BuildResult(
        db_url=db_url,
        facts=len(rows[FactRow]),
        sources=len(rows[SourceRow]),
        topics=len(rows[TopicRow]),
        vocabulary=len(rows[VocabularyRow]),
        synonyms=len(rows[SynonymRow]),
        seconds=time.perf_counter() - started,
    )
    echo(
        f"Done: {result.facts} facts, {result.sources} sources, {result.topics} topics, "
        f"{result.vocabulary} vocabulary values, {result.synonyms} synonyms "
        f"in {result.seconds:.1f}s"
    )
    return result
