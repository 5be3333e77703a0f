"""Turning fact-base facts into phone-sized answer messages.

Pure text work, no Rasa and no database: ``actions.answering`` decides which facts
to use, this module decides how they read. An answer is

- one or two messages of about 400 characters each (a long topic is split),
- the last one ending in a ``Sources:`` line naming each cited article,
- where sources disagree, both claims with who says what. That line is never dropped
  for length: if it doesn't fit beside its fact, it opens the next message, and a
  fact whose line cannot be shown is left out whole,
- for "is it safe?" and "any side effects?" (topics ``side_effects`` and ``safety``),
  the risk side first: risk facts, then neutral ones, then benefit claims.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.facts.query import Fact, Source

BODY_CHARS = 400  # per message, before the Sources line
MAX_MESSAGES = 2
# Topics where a patient asks about risks: the risk side of the answer comes first.
RISK_FIRST_TOPICS = frozenset({"side_effects", "safety"})
WHO_SAYS_PREFIX = "Who says what: "


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
    least 24 hours; Healthcare Business Today: 2–3 days)".
    """
    text = fact.text.strip()
    attribution = who_says_what(fact) if fact.disagreement else None
    return f"{text} ({attribution})" if attribution else text


def who_says_what(fact: Fact) -> str | None:
    """Each source's claim, short: its figure where it gives one, else its words.

    Every claim is kept, however long the line gets (the composer gives a long line
    a message of its own): a dropped claim is how "scars" once went missing.
    """
    claims: dict[str, list[str]] = {}
    for citation in fact.citations:
        if citation.span is not None:
            claim = _en_dash(citation.span.describe())
        elif citation.says:
            claim = citation.says.strip().rstrip(".")
        else:
            continue
        names = claims.setdefault(short_name(citation.source), [])
        if claim not in names:
            names.append(claim)
    if sum(len(said) for said in claims.values()) < 2:
        return None  # nothing to compare
    return "; ".join(f"{name}: {', '.join(said)}" for name, said in claims.items())


def short_name(source: Source) -> str:
    """The publisher, else the title up to its first colon or question mark, quoted."""
    if source.publisher:
        return source.publisher
    title = re.split(r"(?<=\?)|:|,", source.title, maxsplit=1)[0].strip()
    return f"“{title}”"


def _en_dash(text: str) -> str:
    return re.sub(r"(?<=\d)-(?=\d)", "–", text)


def _side(fact: Fact) -> int:
    return 0 if fact.is_risk else 2 if fact.is_benefit else 1


def risk_first(facts: Sequence[Fact], topic: str | None = None) -> list[Fact]:
    """``facts`` with risks first when the question is about risks.

    ``topic`` is the answer's topic; by default the first fact's. For other topics
    the order is kept. Within each side the given (best-first) order is kept.
    """
    facts = list(facts)
    if topic is None and facts:
        topic = facts[0].topic
    if topic not in RISK_FIRST_TOPICS:
        return facts
    return sorted(facts, key=_side)


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
        self,
        facts: Sequence[Fact],
        intro: str | None = None,
        outro: str | None = None,
        topic: str | None = None,
        required: int | None = None,
    ) -> ComposedAnswer:
        """Messages for ``facts`` in the given order (best first), risks first for
        risk topics (``topic``, by default the first fact's).

        ``intro`` opens the first message and ``outro`` closes the last one, before
        the Sources line. The first ``required`` facts are always sent, each with its
        who-says line, even if that takes more than ``max_messages``; by default that
        is every fact of a one- or two-fact answer (the facts chosen to answer the
        question), else the first. Other facts that don't fit are left out rather than
        cut mid-sentence or shown without their who-says line.
        """
        ordered = risk_first(facts, topic)
        if required is None:
            required = len(ordered) if len(ordered) <= 2 else 1
        bodies: list[list[str]] = [[intro]] if intro else [[]]
        used: list[Fact] = []
        for index, fact in enumerate(ordered):
            placed = self._place(bodies, fact, force=index < required)
            if placed is None:
                break
            bodies = placed
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

    def _fits(self, body: list[str], part: str) -> bool:
        return _length([*body, part]) <= self.body_chars

    def _place(self, bodies: list[list[str]], fact: Fact, force: bool) -> list[list[str]] | None:
        """``bodies`` with the fact added, or None when it (or its who-says) won't fit.

        Tried in order: text and attribution together in the current message, together
        in a new one, text here and "Who says what: ..." in the next, both in new ones.
        """
        text = fact.text.strip()
        attribution = who_says_what(fact) if fact.disagreement else None
        room = self.max_messages - len(bodies)  # new messages still allowed
        current = bodies[-1]
        if attribution is None:
            if not current or self._fits(current, text):
                return [*bodies[:-1], [*current, text]]
            if room >= 1 or force:
                return [*bodies, [text]]
            return None
        together = f"{text} ({attribution})"
        apart = f"{WHO_SAYS_PREFIX}{attribution}."
        if self._fits(current, together):
            return [*bodies[:-1], [*current, together]]
        if room >= 1 and len(together) <= self.body_chars:
            return [*bodies, [together]]
        if (not current or self._fits(current, text)) and (room >= 1 or force):
            return [*bodies[:-1], [*current, text], [apart]]
        if room >= 2 or force:
            return [*bodies, [text], [apart]]
        return None


def _length(parts: list[str]) -> int:
    return sum(len(part) for part in parts) + max(len(parts) - 1, 0)


def _cited_sources(facts: Sequence[Fact]) -> list[Source]:
    seen: dict[str, Source] = {}
    for fact in facts:
        for source in fact.sources:
            seen.setdefault(source.id, source)
    return list(seen.values())
