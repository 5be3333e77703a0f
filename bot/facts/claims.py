"""The written standard for fact claims (docs/facts.md, "Fact claims"), as checks.

A fact must say exactly what its sources say. Most of that takes a curator reading
the articles; these checks catch the mistakes that show in the YAML itself:

- **attribution**: "the articles" only when every article is cited, "two articles"
  only with two cited, and a single-source fact says "one article" (or names it);
- **hedges**: a ``hedge:`` word (can, may, might, some) stays in the text, and is in
  the cited evidence, so the marker itself is checked against the article;
- **frequency**: a risk fact says how common something is (rare, frequent, usually)
  only with that word in its evidence, i.e. only when an article says so;
- **benefits**: a benefit claim is never qualified by a personal condition.

The build runs every check (``claim_problems``) and refuses facts that fail one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bot.facts.contract import CLAIMS

if TYPE_CHECKING:
    from bot.facts.loader import FactSpec, Problem

PERSONAL_KIND = "condition"

_NUMBER = {"two": 2, "three": 3, "four": 4, "five": 5, "both": 2, "several": 2, "some": 2}

# "the articles" on its own means all of them; with a count in front it means that many.
_COUNTED = re.compile(
    r"\b(?P<count>two|three|four|five|both|several|some)\s+(?:of\s+the\s+)?articles\b"
    r"|\bboth\s+(?:of\s+)?(?:the\s+)?articles\b",
    re.I,
)
_MOST = re.compile(r"\bmost\s+(?:of\s+)?(?:the\s+)?articles\b", re.I)
_ALL = re.compile(
    r"\b(?:all|every)\s+(?:of\s+)?(?:the\s+)?(?:five\s+)?articles?\b"
    r"|(?<![\w-])(?<!of )the articles\b",
    re.I,
)
# "The articles don't say how soon ...": a statement about what no article says.
_SILENCE = re.compile(
    r"\s+(?:do not|don't|does not|doesn't|give no|gives no|say nothing|never|are silent"
    r"|mention no|set no|name no|offer no)\b",
    re.I,
)
# "another says ..." means a second article; "another study", "need another" do not.
_ANOTHER = re.compile(
    r"\banother\s+(?:article|says|adds|calls|places|gives|lists|disagrees|warns|advises"
    r"|reports|names|suggests|recommends)\b",
    re.I,
)
_ONE_ARTICLE = re.compile(r"\bone\s+(?:of\s+the\s+)?articles?\b", re.I)

# Words that say how common something is. In a risk fact each one must be the
# article's own word, so it has to be among the cited evidence.
FREQUENCY_WORDS = (
    "rare",
    "uncommon",
    "common",
    "frequent",
    "often",
    "usually",
    "typically",
    "mostly",
    "generally",
    "few",
    "minimal",
)
_FREQUENCY = re.compile(
    r"\b(" + "|".join(FREQUENCY_WORDS) + r")(?:ly)?\b",
    re.I,
)


def _words(text: str) -> set[str]:
    return {word.lower() for word in re.findall(r"[A-Za-z]+", text)}


def _frequency_words(text: str) -> set[str]:
    return {match.group(1).lower() for match in _FREQUENCY.finditer(text)}


def attribution_problems(fact: FactSpec, all_sources: Sequence[str]) -> list[str]:
    """What the text claims about how many articles say it, against what it cites."""
    cited = len(fact.source_ids)
    text = fact.text
    problems: list[str] = []
    for match in _ALL.finditer(text):
        if _SILENCE.match(text, match.end()):
            continue
        if cited < len(all_sources):
            problems.append(
                f"says '{match.group(0)}' but cites {cited} of the {len(all_sources)} "
                "articles: say how many ('two articles', 'one article') or cite them all"
            )
            break
    for match in _COUNTED.finditer(text):
        wanted = _NUMBER.get((match.group("count") or "both").lower(), 2)
        if cited < wanted:
            problems.append(f"says '{match.group(0)}' but cites {cited} article(s)")
    for match in _MOST.finditer(text):
        if cited * 2 <= len(all_sources):
            problems.append(f"says '{match.group(0)}' but cites {cited} article(s)")
    if _ANOTHER.search(text) and cited < 2:
        problems.append("says 'another' article but cites only one")
    if cited == 1 and not _ONE_ARTICLE.search(text):
        problems.append(
            "cites one article, so the text must say so ('one article says ...'); "
            "see docs/facts.md, 'Fact claims'"
        )
    return problems


def hedge_problems(fact: FactSpec) -> list[str]:
    """Each ``hedge:`` word is kept in the text and comes from the cited evidence."""
    problems: list[str] = []
    text_words = _words(fact.text)
    evidence_words = _words(" ".join(term for c in fact.citations for term in c.evidence))
    for hedge in fact.hedges:
        wanted = _words(hedge)
        if not wanted <= text_words:
            problems.append(f"drops the source's hedge '{hedge}': keep it in the text")
        if not wanted <= evidence_words:
            problems.append(
                f"hedge '{hedge}' is in no citation's evidence: add the article's words "
                "around it to the evidence, so the hedge is checked against the article"
            )
    return problems


def frequency_problems(fact: FactSpec) -> list[str]:
    """A risk fact says how common something is only in the articles' own words."""
    if fact.claim != "risk":
        return []
    evidence = " ".join(term for c in fact.citations for term in c.evidence)
    said = _frequency_words(evidence)
    return [
        f"says '{word}' about a risk, but no cited evidence says how common it is "
        f"(add the article's '{word}' to the evidence, or drop the word)"
        for word in sorted(_frequency_words(fact.text) - said)
    ]


def benefit_problems(fact: FactSpec) -> list[str]:
    """A benefit claim never answers a personal condition."""
    if fact.claim == "benefit" and fact.qualifiers.get(PERSONAL_KIND):
        values = ", ".join(fact.qualifiers[PERSONAL_KIND])
        return [
            f"is a benefit claim qualified by the condition(s) {values}: a patient who "
            "names a condition must get 'check with a doctor first', not a benefit; "
            "remove the condition qualifier"
        ]
    return []


def fact_problems(fact: FactSpec, all_sources: Sequence[str]) -> list[str]:
    """Every way ``fact`` breaks the standard, as messages."""
    problems = attribution_problems(fact, all_sources)
    problems += hedge_problems(fact)
    problems += frequency_problems(fact)
    problems += benefit_problems(fact)
    if fact.claim is not None and fact.claim not in CLAIMS:
        problems.append(f"unknown claim '{fact.claim}'")
    return problems


def claim_problems(facts: Iterable[FactSpec], all_sources: Sequence[str]) -> list[Problem]:
    """``file:line`` problems for the build."""
    from bot.facts.loader import Problem

    return [
        Problem(fact.file, fact.line, f"fact '{fact.id}' {message}")
        for fact in facts
        for message in fact_problems(fact, all_sources)
    ]
