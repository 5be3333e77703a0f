"""Turning fact-base facts into phone-sized answer messages.

Pure text work, no Rasa and no database: ``actions.answering`` decides which facts
to use, this module decides how they read. An answer is

- one or two messages of about 400 characters each (a long topic is split),
- the last one ending in a ``Sources:`` line naming each cited article,
- where sources disagree, both claims with who says what.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.facts.query import Fact, Source

BODY_CHARS = 400  # per message, before the Sources line
MAX_MESSAGES = 2
ATTRIBUTION_CHARS = 140  # longer "who says what" lists would swamp a phone screen


def describe_source(source: Source) -> str:
    """“Title” (Publisher), or just “Title” when the article names no publisher."""
    title = f"“{source.title}”"
    return f"{title} ({source.publisher})" if source.publisher else title


def sources_line(sources: Sequence[Source]) -> str:
    return "Sources: " + "; ".join(describe_source(source) for source in sources)


def fact_sentence(fact: Fact) -> str:
    """The fact's text, plus who says what when the articles disagree.

    The curated text states the range ("one article says at least 24 hours, another
    says 2 to 3 days"); the attribution names the articles: "(Vizox Clinique: at
    least 24 hours; Healthcare Business Today: 2–3 days)". A long attribution is
    left out: the Sources line still names every article.
    """
    text = fact.text.strip()
    if not fact.disagreement:
        return text
    attribution = who_says_what(fact)
    return f"{text} ({attribution})" if attribution else text


def who_says_what(fact: Fact, max_chars: int = ATTRIBUTION_CHARS) -> str | None:
    """Each source's claim, short: its figure where it gives one, else its words."""
    for figures_only in (False, True):
        claims: dict[str, list[str]] = {}
        for citation in fact.citations:
            if citation.span is not None:
                claim = _en_dash(citation.span.describe())
            elif citation.says and not figures_only:
                claim = citation.says.strip().rstrip(".")
            else:
                continue
            names = claims.setdefault(short_name(citation.source), [])
            if claim not in names:
                names.append(claim)
        if sum(len(said) for said in claims.values()) < 2:
            return None  # nothing left to compare
        rendered = "; ".join(f"{name}: {', '.join(said)}" for name, said in claims.items())
        if len(rendered) <= max_chars:
            return rendered
    return None


def short_name(source: Source) -> str:
    """The publisher, else the title up to its first colon or question mark, quoted."""
    if source.publisher:
        return source.publisher
    title = re.split(r"(?<=\?)|:|,", source.title, maxsplit=1)[0].strip()
    return f"“{title}”"


def _en_dash(text: str) -> str:
    return re.sub(r"(?<=\d)-(?=\d)", "–", text)


@dataclass
class ComposedAnswer:
    """What the answering action sends: text messages and the facts behind them."""

    messages: list[str]
    facts: list[Fact]
    sources: list[Source] = field(default_factory=list)


class AnswerComposer:
    """Packs facts into at most two messages of about ``body_chars`` each."""

    def __init__(self, body_chars: int = BODY_CHARS, max_messages: int = MAX_MESSAGES) -> None:
        self.body_chars = body_chars
        self.max_messages = max_messages

    def compose(
        self, facts: Sequence[Fact], intro: str | None = None, outro: str | None = None
    ) -> ComposedAnswer:
        """Messages for ``facts`` in the given order (best first).

        ``intro`` opens the first message and ``outro`` closes the last one, before
        the Sources line. Facts that don't fit in ``max_messages`` are left out rather
        than cut mid-sentence; the first fact is always included.
        """
        bodies: list[list[str]] = [[intro]] if intro else [[]]
        used: list[Fact] = []
        for fact in facts:
            sentence = fact_sentence(fact)
            current = bodies[-1]
            if current and _length(current) + 1 + len(sentence) > self.body_chars:
                if len(bodies) == self.max_messages:
                    break
                current = []
                bodies.append(current)
            current.append(sentence)
            used.append(fact)
        if outro:
            if (
                bodies[-1]
                and _length(bodies[-1]) + 1 + len(outro) > self.body_chars
                and (len(bodies) < self.max_messages)
            ):
                bodies.append([])
            bodies[-1].append(outro)
        bodies = [body for body in bodies if body]
        sources = _cited_sources(used)
        messages = [" ".join(body) for body in bodies]
        if sources and messages:
            messages[-1] = f"{messages[-1]}\n{sources_line(sources)}"
        return ComposedAnswer(messages=messages, facts=used, sources=sources)


def _length(parts: list[str]) -> int:
    return sum(len(part) for part in parts) + max(len(parts) - 1, 0)


def _cited_sources(facts: Sequence[Fact]) -> list[Source]:
    seen: dict[str, Source] = {}
    for fact in facts:
        for source in fact.sources:
            seen.setdefault(source.id, source)
    return list(seen.values())
