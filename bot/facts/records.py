"""What the query layer returns: plain, immutable records with no database attached."""

from __future__ import annotations

from dataclasses import dataclass, field

_UNIT_SINGULAR = {
    "minutes": "minute",
    "hours": "hour",
    "days": "day",
    "weeks": "week",
    "months": "month",
    "years": "year",
    "sessions": "session",
}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    publisher: str | None
    date: str | None

    @property
    def label(self) -> str:
        """How to name the source in a citation: its publisher, else its title."""
        return self.publisher or self.title


@dataclass(frozen=True)
class Span:
    min: float | None
    max: float | None
    unit: str

    def describe(self) -> str:
        """Plain English: "2-3 days", "at least 24 hours", "up to 30 minutes"."""
        low, high = self.min, self.max
        if low is not None and high is not None and low == high:
            unit = _UNIT_SINGULAR[self.unit] if low == 1 else self.unit
            return f"{_number(low)} {unit}"
        if low is not None and high is not None:
            return f"{_number(low)}-{_number(high)} {self.unit}"
        if low is not None:
            unit = _UNIT_SINGULAR[self.unit] if low == 1 else self.unit
            return f"at least {_number(low)} {unit}"
        assert high is not None
        unit = _UNIT_SINGULAR[self.unit] if high == 1 else self.unit
        return f"up to {_number(high)} {unit}"


@dataclass(frozen=True)
class Citation:
    source: Source
    evidence: list[str]
    # Set when sources differ on this fact: what this source says, in our words,
    # and its own value, so an answer can show who says what.
    says: str | None = None
    span: Span | None = None


@dataclass(frozen=True)
class Fact:
    id: str
    topic: str
    text: str
    qualifiers: dict[str, list[str]]
    phase: str | None
    span: Span | None
    citations: list[Citation]
    priority: int = 50
    origin: str = ""  # "data/facts/file.yml:line", for staff
    # The source's hedge words the text must keep ("can", "might"): docs/facts.md.
    hedges: tuple[str, ...] = ()
    # "benefit" or "risk" when the fact makes one; None for neutral information.
    claim: str | None = None

    @property
    def sources(self) -> list[Source]:
        """Cited sources, each once, in citation order."""
        seen: dict[str, Source] = {}
        for citation in self.citations:
            seen.setdefault(citation.source.id, citation.source)
        return list(seen.values())

    @property
    def disagreement(self) -> bool:
        """True when the citations record different claims (e.g. 24 hours vs 2-3 days)."""
        claims = {c.says for c in self.citations if c.says}
        return len(claims) > 1

    @property
    def is_risk(self) -> bool:
        return self.claim == "risk"

    @property
    def is_benefit(self) -> bool:
        return self.claim == "benefit"

    def who_says(self) -> list[tuple[Source, str]]:
        """(source, claim) for each citation that records its own claim, in order."""
        return [(c.source, c.says) for c in self.citations if c.says]

    def values(self, kind: str) -> list[str]:
        return self.qualifiers.get(kind, [])


@dataclass(frozen=True)
class VocabularyEntry:
    kind: str
    value: str
    label: str
    synonyms: list[str]
    related: list[tuple[str, str]]  # (kind, value) pairs to offer when has_facts is False
    related_topics: list[str]
    has_facts: bool
    fact_ids: list[str] = field(default_factory=list)
