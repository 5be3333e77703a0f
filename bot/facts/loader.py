"""Read and validate the curated YAML in ``data/facts/``.

Everything is checked before anything is written, and every problem is reported at
once as ``file:line: what is wrong`` so a curator can fix a whole batch in one go.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.facts.contract import (
    CLAIMS,
    ENTITY_VALUES,
    PHASES,
    QUALIFIER_KINDS,
    RASA_TRAINING_KEYS,
    SPAN_UNITS,
    TOPICS,
)
from bot.facts.yamlfile import LineDict, LineList, YamlProblem, load_yaml

SOURCES_FILE = "sources.yml"
VOCABULARY_FILE = "vocabulary.yml"
EXCLUSIONS_FILE = "exclusions.yml"
SPECIAL_FILES = (SOURCES_FILE, VOCABULARY_FILE, EXCLUSIONS_FILE)

FACT_ID = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
MAX_TEXT_CHARS = 400  # an answer is about 400 characters including the Sources line
DEFAULT_PRIORITY = 50

_FACT_KEYS = (
    "id",
    "topic",
    "text",
    "qualifiers",
    "phase",
    "span",
    "priority",
    "claim",
    "hedge",
    "sources",
)
_CITATION_KEYS = ("id", "evidence", "says", "span")
_SPAN_KEYS = ("min", "max", "unit")
# nlu_variants / not_nlu are for the NLU's synonym mapper only (bot.facts.nlu_sync).
_VOCAB_KEYS = ("label", "synonyms", "related", "related_topics", "nlu_variants", "not_nlu")
_TOPIC_KEYS = ("label", "keywords")
_SOURCE_KEYS = ("id", "file", "title", "publisher", "date")
_EXCLUSION_KEYS = ("source", "match", "reason")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class CurationError(Exception):
    """The curated YAML has problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class SpanSpec:
    min: float | None
    max: float | None
    unit: str


@dataclass(frozen=True)
class CitationSpec:
    source_id: str
    evidence: tuple[str, ...]
    says: str | None
    span: SpanSpec | None
    line: int


@dataclass(frozen=True)
class FactSpec:
    id: str
    topic: str
    text: str
    qualifiers: dict[str, tuple[str, ...]]
    phase: str | None
    span: SpanSpec | None
    priority: int
    citations: tuple[CitationSpec, ...]
    file: str
    line: int
    hedges: tuple[str, ...] = ()  # the sources' hedge words the text must keep
    claim: str | None = None  # "benefit" or "risk" (bot.facts.contract.CLAIMS)

    @property
    def source_ids(self) -> tuple[str, ...]:
        """Distinct cited sources, in citation order."""
        return tuple(dict.fromkeys(citation.source_id for citation in self.citations))


@dataclass(frozen=True)
class SourceSpec:
    id: str
    title: str
    publisher: str | None
    date: str | None
    file: str | None
    line: int


@dataclass(frozen=True)
class VocabSpec:
    kind: str
    value: str
    label: str
    synonyms: tuple[str, ...]
    related: tuple[tuple[str, str], ...]  # (kind, value)
    related_topics: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class TopicSpec:
    id: str
    label: str
    keywords: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class ExclusionSpec:
    source_id: str
    match: tuple[str, ...]
    reason: str
    file: str
    line: int


@dataclass
class Curation:
    """Everything in data/facts/, validated."""

    facts_dir: Path
    sources: dict[str, SourceSpec]
    facts: list[FactSpec]
    vocabulary: dict[str, dict[str, VocabSpec]]
    topics: dict[str, TopicSpec]
    exclusions: list[ExclusionSpec]

    def fact_files(self) -> list[str]:
        return sorted({fact.file for fact in self.facts})


def display_path(path: Path) -> str:
    """The path relative to the working directory when it is inside it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


@dataclass
class _Reader:
    """Collects problems while turning YAML into specs."""

    problems: list[Problem] = field(default_factory=list)

    def problem(self, file: str, line: int, message: str) -> None:
        self.problems.append(Problem(file, line, message))

    def load(self, path: Path) -> Any:
        shown = display_path(path)
        if not path.is_file():
            self.problem(shown, 1, "file not found")
            return None
        self._check_not_rasa_data(path, shown)
        try:
            return load_yaml(path)
        except YamlProblem as exc:
            self.problem(shown, exc.line, exc.message)
            return None

    def _check_not_rasa_data(self, path: Path, shown: str) -> None:
        # `rasa train` reads data/ recursively and takes any file with one of these keys
        # on any line as training data.
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.lstrip()
            for key in RASA_TRAINING_KEYS:
                if stripped.startswith(f"{key}:"):
                    self.problem(
                        shown,
                        number,
                        f"a line starting with '{key}:' makes Rasa read this file as "
                        "training data; rename the key",
                    )

    def top(self, data: Any, shown: str, key: str, kind: type) -> Any:
        """The value under the file's one expected top-level key."""
        if data is None:
            return kind()
        if not isinstance(data, LineDict) or key not in data:
            self.problem(shown, getattr(data, "line", 1), f"expected a top-level '{key}:' key")
            return kind()
        value = data[key]
        if value is None:
            return kind()
        if not isinstance(value, kind):
            self.problem(shown, data.line_of(key), f"'{key}' must be a {_kind_name(kind)}")
            return kind()
        return value

    def known_entries(
        self,
        mapping: LineDict,
        known: Container[str],
        shown: str,
        unknown: Callable[[str], str],
        not_a_mapping: Callable[[str], str],
    ) -> Iterator[tuple[str, LineDict, int]]:
        """(key, value, line) of the entries whose key is known and whose value is a
        mapping; the others are problems, with the message for their key."""
        for key, raw in mapping.items():
            line = mapping.line_of(key)
            if key not in known:
                self.problem(shown, line, unknown(key))
            elif not isinstance(raw, LineDict):
                self.problem(shown, line, not_a_mapping(key))
            else:
                yield key, raw, line

    def mappings(self, path: Path, key: str, not_a_mapping: str) -> Iterator[tuple[LineDict, int]]:
        """(item, line) of each mapping listed under the file's top-level ``key``; an item
        that is no mapping is a problem with the message ``not_a_mapping``."""
        shown = display_path(path)
        items = self.top(self.load(path), shown, key, LineList)
        for index, raw in enumerate(items):
            line = items.line_of(index)
            if isinstance(raw, LineDict):
                yield raw, line
            else:
                self.problem(shown, line, not_a_mapping)

    def unknown_keys(
        self, mapping: LineDict, allowed: tuple[str, ...], shown: str, what: str
    ) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(
                    shown,
                    mapping.line_of(key),
                    f"unknown field '{key}' in {what} (expected one of: {', '.join(allowed)})",
                )

    def text(
        self, mapping: LineDict, key: str, shown: str, what: str, required: bool = True
    ) -> str | None:
        value = mapping.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(shown, mapping.line, f"missing {key} in {what}")
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.problem(shown, mapping.line_of(key), f"{key} in {what} must be text")
            return None
        return str(value).strip()

    def strings(self, mapping: LineDict, key: str, shown: str, what: str) -> tuple[str, ...]:
        value = mapping.get(key)
        if value is None:
            return ()
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list):
            self.problem(shown, mapping.line_of(key), f"{key} in {what} must be a list")
            return ()
        items: list[str] = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                line = value.line_of(index) if isinstance(value, LineList) else mapping.line
                self.problem(shown, line, f"{key} in {what} must list text items")
            elif str(item).strip():
                items.append(str(item).strip())
        return tuple(items)

    def span(self, raw: Any, shown: str, line: int, what: str) -> SpanSpec | None:
        if raw is None:
            return None
        if not isinstance(raw, LineDict):
            self.problem(shown, line, f"span in {what} must be a mapping with min, max, unit")
            return None
        self.unknown_keys(raw, _SPAN_KEYS, shown, f"span of {what}")
        unit = raw.get("unit")
        if unit not in SPAN_UNITS:
            self.problem(
                shown,
                raw.line_of("unit"),
                f"span unit '{unit}' in {what} is not one of: {', '.join(SPAN_UNITS)}",
            )
            return None
        bounds: list[float | None] = []
        for key in ("min", "max"):
            value = raw.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                self.problem(shown, raw.line_of(key), f"span {key} in {what} must be a number")
                return None
            bounds.append(value)
        low, high = bounds
        if low is None and high is None:
            self.problem(shown, raw.line, f"span in {what} needs min or max")
            return None
        if low is not None and high is not None and low > high:
            self.problem(shown, raw.line, f"span min is greater than max in {what}")
            return None
        return SpanSpec(min=low, max=high, unit=str(unit))


def _kind_name(kind: type) -> str:
    return "list" if kind is LineList else "mapping"


def _sources(reader: _Reader, path: Path) -> dict[str, SourceSpec]:
    shown = display_path(path)
    sources: dict[str, SourceSpec] = {}
    for raw, line in reader.mappings(path, "sources", "each source must be a mapping"):
        reader.unknown_keys(raw, _SOURCE_KEYS, shown, "source")
        source_id = reader.text(raw, "id", shown, "source")
        title = reader.text(raw, "title", shown, f"source '{source_id}'")
        if source_id is None or title is None:
            continue
        if source_id in sources:
            reader.problem(shown, line, f"duplicate source id '{source_id}'")
            continue
        sources[source_id] = SourceSpec(
            id=source_id,
            title=title,
            publisher=reader.text(raw, "publisher", shown, "source", required=False),
            date=reader.text(raw, "date", shown, "source", required=False),
            file=reader.text(raw, "file", shown, "source", required=False),
            line=line,
        )
    return sources


def _related(
    reader: _Reader, raw: LineDict, kind: str, shown: str, what: str
) -> tuple[tuple[str, str], ...]:
    related: list[tuple[str, str]] = []
    for item in reader.strings(raw, "related", shown, what):
        # "value" means the same kind; "kind:value" points at another kind.
        other_kind, _, other_value = item.rpartition(":")
        other_kind = other_kind or kind
        if other_value not in ENTITY_VALUES.get(other_kind, ()):
            reader.problem(
                shown, raw.line_of("related"), f"unknown related value '{item}' in {what}"
            )
            continue
        related.append((other_kind, other_value))
    return tuple(related)


def _vocabulary(
    reader: _Reader, path: Path
) -> tuple[dict[str, dict[str, VocabSpec]], dict[str, TopicSpec]]:
    shown = display_path(path)
    data = reader.load(path)
    kinds = reader.top(data, shown, "vocabulary", LineDict)
    vocabulary: dict[str, dict[str, VocabSpec]] = {}
    for kind, values, kind_line in reader.known_entries(
        kinds,
        ENTITY_VALUES,
        shown,
        lambda kind: f"unknown qualifier kind '{kind}'",
        lambda kind: f"vocabulary '{kind}' must map values to entries",
    ):
        entries: dict[str, VocabSpec] = {}
        seen_synonyms: dict[str, str] = {}
        for value, raw, line in reader.known_entries(
            values,
            ENTITY_VALUES[kind],
            shown,
            lambda value, kind=kind: (
                f"unknown qualifier value '{value}' for {kind} "
                "(add it to docs/architecture.md and bot/facts/contract.py first)"
            ),
            lambda value, kind=kind: f"{kind} '{value}' must be a mapping with label and synonyms",
        ):
            what = f"{kind} '{value}'"
            reader.unknown_keys(raw, _VOCAB_KEYS, shown, what)
            label = reader.text(raw, "label", shown, what) or value
            synonyms = reader.strings(raw, "synonyms", shown, what)
            for synonym in synonyms:
                key = synonym.lower()
                if key in seen_synonyms and seen_synonyms[key] != value:
                    reader.problem(
                        shown,
                        raw.line_of("synonyms"),
                        f"synonym '{synonym}' of {what} is also a synonym of "
                        f"'{seen_synonyms[key]}'",
                    )
                seen_synonyms[key] = value
            related_topics = reader.strings(raw, "related_topics", shown, what)
            for topic in related_topics:
                if topic not in TOPICS:
                    reader.problem(shown, raw.line_of("related_topics"), f"unknown topic '{topic}'")
            entries[value] = VocabSpec(
                kind=kind,
                value=value,
                label=label,
                synonyms=synonyms,
                related=_related(reader, raw, kind, shown, what),
                related_topics=tuple(t for t in related_topics if t in TOPICS),
                line=line,
            )
        for value in ENTITY_VALUES[kind]:
            if value not in values:
                reader.problem(shown, kind_line, f"missing vocabulary entry for {kind} '{value}'")
        vocabulary[kind] = entries
    for kind in ENTITY_VALUES:
        if kind not in kinds:
            reader.problem(shown, kinds.line or 1, f"missing vocabulary kind '{kind}'")
    topics = _topics(reader, data, shown)
    return vocabulary, topics


def _topics(reader: _Reader, data: Any, shown: str) -> dict[str, TopicSpec]:
    if not isinstance(data, LineDict) or "topics" not in data:
        reader.problem(shown, getattr(data, "line", 1), "expected a top-level 'topics:' key")
        return {}
    raw_topics = data["topics"]
    if not isinstance(raw_topics, LineDict):
        reader.problem(shown, data.line_of("topics"), "'topics' must be a mapping")
        return {}
    topics: dict[str, TopicSpec] = {}
    for topic, raw, line in reader.known_entries(
        raw_topics,
        TOPICS,
        shown,
        lambda topic: f"unknown topic '{topic}'",
        lambda topic: f"topic '{topic}' must be a mapping with label, keywords",
    ):
        reader.unknown_keys(raw, _TOPIC_KEYS, shown, f"topic '{topic}'")
        topics[topic] = TopicSpec(
            id=topic,
            label=reader.text(raw, "label", shown, f"topic '{topic}'") or topic,
            keywords=reader.strings(raw, "keywords", shown, f"topic '{topic}'"),
            line=line,
        )
    for topic in TOPICS:
        if topic not in topics and topic not in raw_topics:
            reader.problem(shown, raw_topics.line, f"missing topic '{topic}'")
    return topics


def _qualifiers(
    reader: _Reader,
    raw: Any,
    vocabulary: dict[str, dict[str, VocabSpec]],
    shown: str,
    line: int,
    what: str,
) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        reader.problem(shown, line, f"qualifiers of {what} must map a kind to values")
        return {}
    qualifiers: dict[str, tuple[str, ...]] = {}
    for kind in raw:
        kind_line = raw.line_of(kind)
        if kind not in QUALIFIER_KINDS:
            reader.problem(
                shown,
                kind_line,
                f"unknown qualifier kind '{kind}' in {what} "
                f"(expected one of: {', '.join(QUALIFIER_KINDS)})",
            )
            continue
        values = reader.strings(raw, kind, shown, what)
        known = [value for value in values if value in vocabulary.get(kind, {})]
        for value in values:
            if value not in known:
                reader.problem(
                    shown,
                    kind_line,
                    f"unknown qualifier value '{value}' for {kind} in {what} "
                    "(see data/facts/vocabulary.yml)",
                )
        if known:
            qualifiers[kind] = tuple(known)
    return qualifiers


def _citations(
    reader: _Reader,
    raw: LineDict,
    sources: dict[str, SourceSpec],
    shown: str,
    what: str,
) -> tuple[CitationSpec, ...]:
    items = raw.get("sources")
    if not items:
        reader.problem(shown, raw.line, f"missing sources (with evidence) in {what}")
        return ()
    if not isinstance(items, LineList):
        reader.problem(shown, raw.line_of("sources"), f"sources of {what} must be a list")
        return ()
    citations: list[CitationSpec] = []
    for index, item in enumerate(items):
        line = items.line_of(index)
        if not isinstance(item, LineDict):
            reader.problem(
                shown, line, f"each source of {what} must be a mapping with id, evidence"
            )
            continue
        reader.unknown_keys(item, _CITATION_KEYS, shown, f"a source of {what}")
        source_id = reader.text(item, "id", shown, f"a source of {what}")
        if source_id is None:
            continue
        if source_id not in sources:
            reader.problem(
                shown,
                item.line_of("id"),
                f"unknown source id '{source_id}' in {what} (see data/facts/sources.yml)",
            )
            continue
        evidence = reader.strings(item, "evidence", shown, f"source '{source_id}' of {what}")
        if not evidence:
            reader.problem(shown, line, f"missing evidence for source '{source_id}' in {what}")
            continue
        citations.append(
            CitationSpec(
                source_id=source_id,
                evidence=evidence,
                says=reader.text(item, "says", shown, what, required=False),
                span=reader.span(item.get("span"), shown, item.line_of("span"), what),
                line=line,
            )
        )
    return tuple(citations)


def _priority(reader: _Reader, raw: LineDict, shown: str, what: str) -> int:
    value = raw.get("priority", DEFAULT_PRIORITY)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        reader.problem(
            shown, raw.line_of("priority"), f"priority of {what} must be a whole number 0-100"
        )
        return DEFAULT_PRIORITY
    return value


def _facts(
    reader: _Reader,
    path: Path,
    sources: dict[str, SourceSpec],
    vocabulary: dict[str, dict[str, VocabSpec]],
    seen: dict[str, str],
) -> list[FactSpec]:
    shown = display_path(path)
    facts: list[FactSpec] = []
    for raw, line in reader.mappings(path, "facts", "each fact must be a mapping"):
        fact_id = reader.text(raw, "id", shown, "fact")
        what = f"fact '{fact_id}'" if fact_id else "fact"
        reader.unknown_keys(raw, _FACT_KEYS, shown, what)
        topic = reader.text(raw, "topic", shown, what)
        text = reader.text(raw, "text", shown, what)
        problems_before = len(reader.problems)
        if fact_id is not None:
            if not FACT_ID.match(fact_id):
                reader.problem(
                    shown, raw.line_of("id"), f"fact id '{fact_id}' must look like topic.short_name"
                )
            if fact_id in seen:
                reader.problem(
                    shown,
                    raw.line_of("id"),
                    f"duplicate fact id '{fact_id}' (first defined at {seen[fact_id]})",
                )
            else:
                seen[fact_id] = f"{shown}:{raw.line_of('id')}"
        if topic is not None:
            if topic not in TOPICS:
                reader.problem(shown, raw.line_of("topic"), f"unknown topic '{topic}' in {what}")
            elif fact_id is not None and not fact_id.startswith(f"{topic}."):
                reader.problem(
                    shown, raw.line_of("id"), f"fact id '{fact_id}' must start with '{topic}.'"
                )
        if text is not None and len(text) > MAX_TEXT_CHARS:
            reader.problem(
                shown,
                raw.line_of("text"),
                f"text of {what} is {len(text)} characters; keep it under {MAX_TEXT_CHARS}",
            )
        phase = raw.get("phase")
        if phase is not None and phase not in PHASES:
            reader.problem(
                shown, raw.line_of("phase"), f"phase of {what} must be one of: {', '.join(PHASES)}"
            )
        qualifiers = _qualifiers(
            reader, raw.get("qualifiers"), vocabulary, shown, raw.line_of("qualifiers"), what
        )
        span = reader.span(raw.get("span"), shown, raw.line_of("span"), what)
        priority = _priority(reader, raw, shown, what)
        claim = raw.get("claim")
        if claim is not None and claim not in CLAIMS:
            reader.problem(
                shown, raw.line_of("claim"), f"claim of {what} must be one of: {', '.join(CLAIMS)}"
            )
        hedges = reader.strings(raw, "hedge", shown, what)
        citations = _citations(reader, raw, sources, shown, what)
        if fact_id is None or topic is None or text is None:
            continue
        if len(reader.problems) > problems_before:
            continue
        facts.append(
            FactSpec(
                id=fact_id,
                topic=topic,
                text=" ".join(text.split()),
                qualifiers=qualifiers,
                phase=phase,
                span=span,
                priority=priority,
                citations=citations,
                file=shown,
                line=line,
                hedges=hedges,
                claim=claim,
            )
        )
    return facts


def _exclusions(reader: _Reader, path: Path, sources: dict[str, SourceSpec]) -> list[ExclusionSpec]:
    if not path.is_file():
        return []
    shown = display_path(path)
    exclusions: list[ExclusionSpec] = []
    for raw, line in reader.mappings(
        path, "exclusions", "each exclusion must be a mapping with source, match, reason"
    ):
        reader.unknown_keys(raw, _EXCLUSION_KEYS, shown, "exclusion")
        source_id = reader.text(raw, "source", shown, "exclusion")
        match = reader.strings(raw, "match", shown, "exclusion")
        reason = reader.text(raw, "reason", shown, "exclusion")
        if source_id is not None and source_id not in sources:
            reader.problem(shown, raw.line_of("source"), f"unknown source id '{source_id}'")
            continue
        if not match:
            reader.problem(shown, line, "missing match terms in exclusion")
        if source_id is None or not match or reason is None:
            continue
        exclusions.append(ExclusionSpec(source_id, match, reason, shown, line))
    return exclusions


def _check_unused_values(
    reader: _Reader, path: Path, vocabulary: dict[str, dict[str, VocabSpec]], facts: list[FactSpec]
) -> None:
    covered = {
        (kind, value) for fact in facts for kind, vs in fact.qualifiers.items() for value in vs
    }
    shown = display_path(path)
    for kind, entries in vocabulary.items():
        for value, entry in entries.items():
            if (kind, value) in covered or entry.related or entry.related_topics:
                continue
            reader.problem(
                shown,
                entry.line,
                f"{kind} '{value}' has no facts: list related values or related_topics "
                "so the bot can offer something close",
            )


def fact_files(facts_dir: Path) -> list[Path]:
    return sorted(path for path in facts_dir.glob("*.yml") if path.name not in SPECIAL_FILES)


def load_curation(facts_dir: Path, sources_yml: Path | None = None) -> Curation:
    """Load and validate data/facts/; raise CurationError listing every problem."""
    reader = _Reader()
    if not facts_dir.is_dir():
        raise CurationError([Problem(display_path(facts_dir), 1, "facts directory not found")])
    sources = _sources(reader, sources_yml or facts_dir / SOURCES_FILE)
    vocabulary, topics = _vocabulary(reader, facts_dir / VOCABULARY_FILE)
    seen: dict[str, str] = {}
    facts: list[FactSpec] = []
    files = fact_files(facts_dir)
    if not files:
        reader.problem(display_path(facts_dir), 1, "no fact files (*.yml) found")
    for path in files:
        facts.extend(_facts(reader, path, sources, vocabulary, seen))
    exclusions = _exclusions(reader, facts_dir / EXCLUSIONS_FILE, sources)
    if not reader.problems:
        _check_unused_values(reader, facts_dir / VOCABULARY_FILE, vocabulary, facts)
    if not reader.problems:
        from bot.facts.claims import claim_problems  # imports this module's specs

        reader.problems.extend(claim_problems(facts, tuple(sources)))
    if reader.problems:
        raise CurationError(reader.problems)
    return Curation(
        facts_dir=facts_dir,
        sources=sources,
        facts=facts,
        vocabulary=vocabulary,
        topics=topics,
        exclusions=exclusions,
    )
