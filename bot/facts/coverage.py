"""Check curated facts against the articles: evidence, coverage, exclusions.

* Every citation's evidence terms must appear together (lemma-aware) in one sentence
  of the cited article; that sentence is the citation's support.
* Every fact-bearing sentence (``bot.facts.text.is_fact_bearing``) must be supported
  by some citation, or be excluded in exclusions.yml with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.facts.loader import CitationSpec, Curation, ExclusionSpec, FactSpec
from bot.facts.text import Sentence, find_sentences, is_fact_bearing, split_sentences


class ArticlesMissing(RuntimeError):
    """The sources directory or an article file is missing."""


@dataclass(frozen=True)
class CitationCheck:
    fact: FactSpec
    citation: CitationSpec
    sentences: list[Sentence]

    @property
    def ok(self) -> bool:
        return bool(self.sentences)

    def describe(self) -> str:
        return (
            f"{self.fact.file}:{self.citation.line}: fact '{self.fact.id}' cites "
            f"'{self.citation.source_id}' with evidence {list(self.citation.evidence)}"
        )


@dataclass
class CoverageReport:
    checks: list[CitationCheck]
    uncovered: list[Sentence]
    excluded: list[tuple[Sentence, ExclusionSpec]]
    unmatched_exclusions: list[ExclusionSpec]  # match terms found in no sentence
    unused_exclusions: list[ExclusionSpec]  # only match sentences a fact already covers
    fact_bearing: int = 0
    covered: int = 0
    missing_articles: list[str] = field(default_factory=list)

    @property
    def failed_citations(self) -> list[CitationCheck]:
        return [check for check in self.checks if not check.ok]

    @property
    def ok(self) -> bool:
        return not (self.uncovered or self.failed_citations or self.unmatched_exclusions)


def article_files(sources_dir: Path) -> dict[str, Path]:
    """source id -> article file, from ``sources_dir/sources.yml``."""
    index = sources_dir / "sources.yml"
    if not index.is_file():
        raise ArticlesMissing(f"{index} not found: point --sources at the articles directory")
    raw = yaml.safe_load(index.read_text(encoding="utf-8")) or {}
    files: dict[str, Path] = {}
    for item in raw.get("sources") or []:
        if isinstance(item, dict) and item.get("id") and item.get("file"):
            files[str(item["id"])] = sources_dir / str(item["file"])
    return files


def load_articles(sources_dir: Path, source_ids: list[str]) -> dict[str, list[Sentence]]:
    """Sentences of each article, for the given source ids."""
    files = article_files(sources_dir)
    articles: dict[str, list[Sentence]] = {}
    for source_id in source_ids:
        path = files.get(source_id)
        if path is None or not path.is_file():
            raise ArticlesMissing(
                f"article for source '{source_id}' not found in {sources_dir} "
                "(check its sources.yml)"
            )
        articles[source_id] = split_sentences(path.read_text(encoding="utf-8"), source_id)
    return articles


def check_citations(curation: Curation, articles: dict[str, list[Sentence]]) -> list[CitationCheck]:
    """Each citation with the article sentences that contain all its evidence terms."""
    return [
        CitationCheck(
            fact=fact,
            citation=citation,
            sentences=find_sentences(articles.get(citation.source_id, []), citation.evidence),
        )
        for fact in curation.facts
        for citation in fact.citations
    ]


def check_coverage(curation: Curation, articles: dict[str, list[Sentence]]) -> CoverageReport:
    checks = check_citations(curation, articles)
    covered = {(s.source_id, s.index) for check in checks for s in check.sentences}
    exclusion_hits = {
        id(exclusion): find_sentences(articles.get(exclusion.source_id, []), exclusion.match)
        for exclusion in curation.exclusions
    }
    uncovered: list[Sentence] = []
    excluded: list[tuple[Sentence, ExclusionSpec]] = []
    used: set[int] = set()
    fact_bearing = 0
    for source_id, sentences in articles.items():
        for sentence in sentences:
            if not is_fact_bearing(sentence):
                continue
            fact_bearing += 1
            if (source_id, sentence.index) in covered:
                continue
            exclusion = next(
                (
                    e
                    for e in curation.exclusions
                    if e.source_id == source_id and sentence in exclusion_hits[id(e)]
                ),
                None,
            )
            if exclusion is None:
                uncovered.append(sentence)
            else:
                used.add(id(exclusion))
                excluded.append((sentence, exclusion))
    return CoverageReport(
        checks=checks,
        uncovered=uncovered,
        excluded=excluded,
        unmatched_exclusions=[e for e in curation.exclusions if not exclusion_hits[id(e)]],
        unused_exclusions=[
            e for e in curation.exclusions if exclusion_hits[id(e)] and id(e) not in used
        ],
        fact_bearing=fact_bearing,
        covered=fact_bearing - len(uncovered) - len(excluded),
    )


def _quote(sentence: Sentence, width: int = 110) -> str:
    text = " ".join(sentence.text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _exclusion(exclusion: ExclusionSpec) -> str:
    return f"{exclusion.file}:{exclusion.line}: {exclusion.source_id} {list(exclusion.match)}"


def format_report(report: CoverageReport, show_facts: bool = True) -> str:
    lines: list[str] = []
    if show_facts:
        lines.append("Facts and their supporting sentences")
        current = None
        for check in report.checks:
            if check.fact.id != current:
                current = check.fact.id
                lines.append(f"{check.fact.id}  ({check.fact.file}:{check.fact.line})")
            if check.ok:
                for sentence in check.sentences:
                    lines.append(
                        f"    {check.citation.source_id} #{sentence.index} "
                        f"(line {sentence.line}): {_quote(sentence)}"
                    )
            else:
                lines.append(
                    f"    {check.citation.source_id}: NO SENTENCE has all of "
                    f"{list(check.citation.evidence)}"
                )
        lines.append("")
    sections = (
        (
            "Citations whose evidence is not in one sentence of the article:",
            [check.describe() for check in report.failed_citations],
        ),
        (
            "Fact-bearing sentences no fact covers (add a fact or an exclusion):",
            [f"{s.source_id} #{s.index} (line {s.line}): {_quote(s)}" for s in report.uncovered],
        ),
        (
            "Exclusions whose match terms are in no sentence:",
            [_exclusion(e) for e in report.unmatched_exclusions],
        ),
        (
            "Note: exclusions that only match sentences a fact already covers:",
            [_exclusion(e) for e in report.unused_exclusions],
        ),
    )
    for heading, items in sections:
        if items:
            lines.extend([heading, *(f"  {item}" for item in items), ""])
    reasons: dict[str, int] = {}
    for _, exclusion in report.excluded:
        # Reasons start with a category ("marketing: ..."); count per category.
        category = exclusion.reason.split(":", 1)[0].strip()
        reasons[category] = reasons.get(category, 0) + 1
    lines.append(
        f"{report.fact_bearing} fact-bearing sentences: {report.covered} covered by facts, "
        f"{len(report.excluded)} excluded with a reason, {len(report.uncovered)} uncovered"
    )
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        lines.append(f"  excluded ({count}): {reason}")
    lines.append("coverage OK" if report.ok else "coverage FAILED")
    return "\n".join(lines)
