"""The one query layer over the fact base, shared by actions, staff app, benchmarks, tests.

The whole fact base is small (about a hundred facts), so a FactBase reads it once into
memory and answers every call from there; the action server calls it per message.
A SQLite fact base is re-read automatically after ``python -m bot facts build``
replaces the file; for other databases call ``reload()``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import Connection, Engine

from bot.facts.models import (
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
from bot.facts.normalize import contains, normalize
from bot.facts.records import Citation, Fact, Source, Span, VocabularyEntry

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = [
    "Citation",
    "Fact",
    "FactBase",
    "FactBaseMissing",
    "Source",
    "Span",
    "VocabularyEntry",
]

# Words too common to search fact texts for on their own.
_STOPWORDS = frozenset(
    ("a", "an", "and", "are", "be", "can", "do", "for", "how", "i", "in", "is", "it", "my",
     "of", "on", "or", "the", "to", "what", "when", "with", "you", "your")
)  # fmt: skip


# Values of this kind are the patient's own situation (pregnancy, psoriasis, ...).
PERSONAL_KIND = "condition"


class FactBaseMissing(RuntimeError):
    """The fact-base database does not exist or has no tables yet."""


def _span(low: float | None, high: float | None, unit: str | None) -> Span | None:
    if unit is None:
        return None
    return Span(min=low, max=high, unit=unit)


def _sqlite_path(engine: Engine) -> str | None:
    url = engine.url
    if not url.drivername.startswith("sqlite"):
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return database


@dataclass
class _Snapshot:
    topics: list[str]
    topic_norms: dict[str, list[tuple[str, ...]]]
    facts: list[Fact]
    by_id: dict[str, Fact]
    by_topic: dict[str, list[Fact]]
    by_qualifier: dict[tuple[str, str], list[Fact]]
    position: dict[str, int]
    text_norms: dict[str, tuple[str, ...]]
    sources: dict[str, Source]
    vocabulary: dict[str, dict[str, VocabularyEntry]]
    synonyms: dict[str, list[tuple[tuple[str, ...], str]]]  # kind -> [(norm, value)]
    forms: dict[str, str]
    known: frozenset[str]
    build_info: dict[str, str]


class FactBase:
    """Read-only access to the built fact base.

    >>> fb = FactBase.from_settings()
    >>> fb.facts_for("aftercare", {"activity": "sauna"}, limit=2)
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._path = _sqlite_path(engine)
        self._stamp: tuple[int, int, int] | None = None
        self._data = self._load()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> FactBase:
        """The shared FactBase for ``settings.facts_db_url`` (one per URL per process)."""
        if settings is None:
            from bot.config import get_settings

            settings = get_settings()
        return _shared(settings.facts_db_url)

    # -- loading -----------------------------------------------------------------

    def _missing(self) -> FactBaseMissing:
        url = self._engine.url.render_as_string(hide_password=True)
        return FactBaseMissing(f"fact base not built at {url}: run `python -m bot facts build`")

    def _file_stamp(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        try:
            stat = os.stat(self._path)
        except OSError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _load(self) -> _Snapshot:
        if self._path is not None and not os.path.isfile(self._path):
            # Connecting would silently create an empty SQLite file.
            raise self._missing()
        self._stamp = self._file_stamp()
        with self._engine.connect() as conn:
            inspector = inspect(conn)
            if not inspector.has_table(FactRow.__tablename__):
                raise self._missing()
            columns = {column["name"] for column in inspector.get_columns(FactRow.__tablename__)}
            if set(FactRow.__table__.columns.keys()) - columns:
                url = self._engine.url.render_as_string(hide_password=True)
                raise FactBaseMissing(
                    f"fact base at {url} was built by an older version: "
                    "run `python -m bot facts build`"
                )
            return _read(conn)

    def reload(self) -> None:
        """Re-read the database (after a rebuild of a non-SQLite fact base)."""
        self._data = self._load()

    def _current(self) -> _Snapshot:
        if self._path is not None:
            stamp = self._file_stamp()
            if stamp is not None and stamp != self._stamp:
                self._data = self._load()
        return self._data

    # -- contract API ------------------------------------------------------------

    def topics(self) -> list[str]:
        """All topic ids, in the order of docs/architecture.md."""
        return list(self._current().topics)

    def facts_for(
        self,
        topic: str,
        qualifiers: Mapping[str, str | Iterable[str] | None] | None = None,
        limit: int | None = None,
    ) -> list[Fact]:
        """Facts of ``topic``, best first.

        Facts matching a requested qualifier come first, then facts that say nothing
        about that kind, then facts about other values of it; ties go by priority and
        then YAML order. ``qualifiers`` maps a kind (activity, ingredient, side_effect,
        treatment, condition, or phase) to a canonical value, a surface form, or a list.
        """
        data = self._current()
        if topic not in data.by_topic:
            raise ValueError(f"unknown topic {topic!r}; known topics: {', '.join(data.topics)}")
        wanted = self._wanted(qualifiers or {})

        def score(fact: Fact) -> int:
            total = 0
            for kind, values in wanted.items():
                have = {fact.phase} if kind == "phase" and fact.phase else set(fact.values(kind))
                if have & values:
                    total += 2
                elif have:
                    total -= 1
            return total

        ranked = sorted(
            data.by_topic[topic],
            key=lambda f: (-score(f), -f.priority, data.position[f.id]),
        )
        return ranked[:limit] if limit is not None else ranked

    def about(self, term: str) -> list[Fact]:
        """Everything the sources say about ``term`` (synonym-aware), best first.

        Facts qualified by the value ``term`` resolves to come first, then facts of a
        topic named by ``term``, then facts whose text mentions it or a synonym.
        """
        data = self._current()
        term_norm = normalize(term, data.forms, data.known)
        if not term_norm:
            return []
        scores: dict[str, int] = {}
        search: set[tuple[str, ...]] = set()
        if any(word not in _STOPWORDS for word in term_norm):
            search.add(term_norm)
        for kind in data.vocabulary:
            value = self._resolve(data, kind, term)
            if value is None:
                continue
            for fact in data.by_qualifier.get((kind, value), []):
                scores[fact.id] = max(scores.get(fact.id, 0), 3)
            search.update(norm for norm, v in data.synonyms[kind] if v == value)
        for topic, norms in data.topic_norms.items():
            if term_norm in norms:
                for fact in data.by_topic[topic]:
                    scores[fact.id] = max(scores.get(fact.id, 0), 2)
        for fact in data.facts:
            if fact.id not in scores and any(
                contains(data.text_norms[fact.id], norm) for norm in search
            ):
                scores[fact.id] = 1
        ranked = sorted(
            scores, key=lambda fid: (-scores[fid], -data.by_id[fid].priority, data.position[fid])
        )
        return [data.by_id[fid] for fid in ranked]

    def source(self, source_id: str) -> Source:
        """Citation metadata of one source; KeyError if the id is unknown."""
        try:
            return self._current().sources[source_id]
        except KeyError:
            raise KeyError(f"unknown source id {source_id!r}") from None

    def sources(self) -> list[Source]:
        return list(self._current().sources.values())

    def vocabulary(self, kind: str) -> dict[str, VocabularyEntry]:
        """Canonical values of an entity kind with label, synonyms, related, has_facts."""
        data = self._current()
        if kind not in data.vocabulary:
            raise ValueError(
                f"unknown vocabulary kind {kind!r}; known: {', '.join(data.vocabulary)}"
            )
        return dict(data.vocabulary[kind])

    def resolve(self, kind: str, text: str) -> str | None:
        """Canonical value for a surface form ("Saunas", "steam room" -> "sauna"), or None."""
        data = self._current()
        if kind not in data.vocabulary:
            raise ValueError(
                f"unknown vocabulary kind {kind!r}; known: {', '.join(data.vocabulary)}"
            )
        return self._resolve(data, kind, text)

    # -- extras for actions and the staff app -------------------------------------

    def fact(self, fact_id: str) -> Fact | None:
        return self._current().by_id.get(fact_id)

    def facts(self) -> list[Fact]:
        """Every fact in topic order."""
        data = self._current()
        return [fact for topic in data.topics for fact in data.by_topic[topic]]

    def related_facts(self, kind: str, value: str, limit: int | None = None) -> list[Fact]:
        """Facts to offer for a value the articles don't cover (e.g. swimming).

        First facts qualified by the entry's related values, then the best facts of its
        related topics. For a personal condition (kind ``condition``) benefit claims are
        never offered: "it lowers scalp irritation" is no answer to "I have psoriasis".
        """
        data = self._current()
        entry = data.vocabulary.get(kind, {}).get(value)
        if entry is None:
            return []

        def allowed(fact: Fact) -> bool:
            return kind != PERSONAL_KIND or not fact.is_benefit

        found: dict[str, Fact] = {}
        for related in entry.related:
            for fact in sorted(
                data.by_qualifier.get(related, []),
                key=lambda f: (-f.priority, data.position[f.id]),
            ):
                if allowed(fact):
                    found.setdefault(fact.id, fact)
        for topic in entry.related_topics:
            for fact in [f for f in self.facts_for(topic) if allowed(f)][:2]:
                found.setdefault(fact.id, fact)
        result = list(found.values())
        return result[:limit] if limit is not None else result

    def build_info(self) -> dict[str, str]:
        """built_at, input_digest and facts count of the loaded build."""
        return dict(self._current().build_info)

    # -- helpers -----------------------------------------------------------------

    def _wanted(self, qualifiers: Mapping[str, str | Iterable[str] | None]) -> dict[str, set[str]]:
        data = self._data
        wanted: dict[str, set[str]] = {}
        for kind, raw in qualifiers.items():
            if raw is None:
                continue
            values = [raw] if isinstance(raw, str) else list(raw)
            if kind == "phase":
                wanted[kind] = set(values)
                continue
            if kind not in data.vocabulary:
                raise ValueError(f"unknown qualifier kind {kind!r}")
            resolved = {self._resolve(data, kind, value) for value in values}
            resolved.discard(None)
            if resolved:
                wanted[kind] = resolved  # type: ignore[assignment]
        return wanted

    @staticmethod
    def _resolve(data: _Snapshot, kind: str, text: str) -> str | None:
        if not text:
            return None
        entries = data.vocabulary[kind]
        if text in entries:
            return text
        norm = normalize(text, data.forms, data.known)
        if not norm:
            return None
        best: tuple[int, str] | None = None
        for synonym_norm, value in data.synonyms[kind]:
            if synonym_norm == norm:
                return value
            # A longer phrase that contains the synonym ("after the sauna").
            if (best is None or len(synonym_norm) > best[0]) and contains(norm, synonym_norm):
                best = (len(synonym_norm), value)
        return best[1] if best else None


@lru_cache(maxsize=8)
def _shared(db_url: str) -> FactBase:
    return FactBase(create_engine(db_url))


def _read(conn: Connection) -> _Snapshot:
    sources = {
        row.id: Source(id=row.id, title=row.title, publisher=row.publisher, date=row.date)
        for row in conn.execute(select(SourceRow.__table__).order_by(SourceRow.position))
    }
    topic_rows = list(conn.execute(select(TopicRow.__table__).order_by(TopicRow.position)))
    forms = {row.form: row.lemma for row in conn.execute(select(WordFormRow.__table__))}
    synonym_rows = list(conn.execute(select(SynonymRow.__table__).order_by(SynonymRow.id)))
    known = frozenset(
        set(forms.values()) | {word for row in synonym_rows for word in row.norm.split()}
    )

    citations: dict[str, list[Citation]] = {}
    for row in conn.execute(
        select(FactSourceRow.__table__).order_by(FactSourceRow.fact_id, FactSourceRow.position)
    ):
        citations.setdefault(row.fact_id, []).append(
            Citation(
                source=sources[row.source_id],
                evidence=list(row.evidence),
                says=row.says,
                span=_span(row.span_min, row.span_max, row.span_unit),
            )
        )
    qualifiers: dict[str, dict[str, list[str]]] = {}
    for row in conn.execute(
        select(FactQualifierRow.__table__).order_by(
            FactQualifierRow.fact_id, FactQualifierRow.kind, FactQualifierRow.value
        )
    ):
        qualifiers.setdefault(row.fact_id, {}).setdefault(row.kind, []).append(row.value)

    facts: list[Fact] = []
    for row in conn.execute(select(FactRow.__table__).order_by(FactRow.position)):
        facts.append(
            Fact(
                id=row.id,
                topic=row.topic,
                text=row.text,
                qualifiers=qualifiers.get(row.id, {}),
                phase=row.phase,
                span=_span(row.span_min, row.span_max, row.span_unit),
                citations=citations.get(row.id, []),
                priority=row.priority,
                origin=row.origin,
                hedges=tuple(row.hedges or ()),
                claim=row.claim,
            )
        )

    by_qualifier: dict[tuple[str, str], list[Fact]] = {}
    for fact in facts:
        for kind, values in fact.qualifiers.items():
            for value in values:
                by_qualifier.setdefault((kind, value), []).append(fact)

    synonyms: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    synonym_texts: dict[tuple[str, str], list[str]] = {}
    for row in synonym_rows:
        synonyms.setdefault(row.kind, []).append((tuple(row.norm.split()), row.value))
        synonym_texts.setdefault((row.kind, row.value), []).append(row.text)

    vocabulary: dict[str, dict[str, VocabularyEntry]] = {}
    for row in conn.execute(
        select(VocabularyRow.__table__).order_by(VocabularyRow.kind, VocabularyRow.position)
    ):
        fact_ids = [fact.id for fact in by_qualifier.get((row.kind, row.value), [])]
        vocabulary.setdefault(row.kind, {})[row.value] = VocabularyEntry(
            kind=row.kind,
            value=row.value,
            label=row.label,
            synonyms=synonym_texts.get((row.kind, row.value), []),
            related=[tuple(item.split(":", 1)) for item in row.related],  # type: ignore[misc]
            related_topics=list(row.related_topics),
            has_facts=bool(fact_ids),
            fact_ids=fact_ids,
        )
        synonyms.setdefault(row.kind, [])

    topics = [row.id for row in topic_rows]
    by_topic: dict[str, list[Fact]] = {topic: [] for topic in topics}
    for fact in facts:
        by_topic.setdefault(fact.topic, []).append(fact)
    # Only a topic's id and label name it; its keywords are for tagging articles and
    # are too broad ("prp" would pull in every comparison fact).
    topic_norms = {
        row.id: [normalize(text, forms, known) for text in (row.id, row.label) if text]
        for row in topic_rows
    }
    return _Snapshot(
        topics=topics,
        topic_norms=topic_norms,
        facts=facts,
        by_id={fact.id: fact for fact in facts},
        by_topic=by_topic,
        by_qualifier=by_qualifier,
        position={fact.id: index for index, fact in enumerate(facts)},
        text_norms={fact.id: normalize(fact.text, forms, known) for fact in facts},
        sources=sources,
        vocabulary=vocabulary,
        synonyms=synonyms,
        forms=forms,
        known=known,
        build_info={row.key: row.value for row in conn.execute(select(BuildInfoRow.__table__))},
    )
