"""Turn a new article into a review file of candidate facts for staff to curate.

Each fact-bearing sentence is tagged with candidate topics (topic keywords), entity
values (vocabulary synonyms) and time spans (numbers with units), using the project's
spaCy pipeline with PhraseMatcher and Matcher. Nothing here writes facts: a person
rewrites each candidate in their own words and moves it into data/facts/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc
from spacy.util import filter_spans

from bot.facts.contract import KIND_TOPIC, TOPICS
from bot.facts.coverage import check_citations
from bot.facts.loader import Curation
from bot.facts.text import Sentence, is_fact_bearing, lemma, nlp, split_sentences

_UNITS = {
    "minute": "minutes",
    "hour": "hours",
    "day": "days",
    "week": "weeks",
    "month": "months",
    "year": "years",
    "session": "sessions",
}
_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "couple": 2,
    "half": 0.5,
}
_UNIT_TOPICS = {"minutes": "session_duration", "sessions": "number_of_sessions"}
_AT_LEAST = ("at least", "minimum of", "no earlier than", "not earlier than", "after")
_UP_TO = ("up to", "within", "no more than", "maximum of")

_NUM = {"LIKE_NUM": True}
_UNIT = {"NORM": {"IN": list(_UNITS)}}
_SPAN_PATTERNS = [
    # "2-3 months", "two to three days", "10 to 30 minutes", "a week, or rather two"
    [_NUM, {"LOWER": {"IN": ["-", "–", "to", "or"]}}, _NUM, _UNIT],
    # "24 hours", "15-minute", "10 sessions", "a week", "six months"
    [{"LOWER": {"IN": ["a", "an", "one"]}, "OP": "?"}, _NUM, {"ORTH": "-", "OP": "?"}, _UNIT],
    [{"LOWER": {"IN": ["a", "an"]}}, _UNIT],
    # "a day or two", "a week or two"
    [{"LOWER": {"IN": ["a", "an"]}}, _UNIT, {"LOWER": "or"}, _NUM],
    # "half an hour", "a couple weeks", "a couple of weeks"
    [{"LOWER": "half"}, {"LOWER": {"IN": ["a", "an"]}}, _UNIT],
    [{"LOWER": "a"}, {"LOWER": "couple"}, {"LOWER": "of", "OP": "?"}, _UNIT],
]


@dataclass
class Candidate:
    sentence: Sentence
    topics: list[str] = field(default_factory=list)
    qualifiers: dict[str, list[str]] = field(default_factory=dict)
    spans: list[dict[str, Any]] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)  # matched surface text, for evidence
    covered_by: list[str] = field(default_factory=list)


def _number(text: str) -> float | None:
    lower = text.lower().replace(",", "")
    if lower in _NUMBER_WORDS:
        return _NUMBER_WORDS[lower]
    try:
        return float(lower)
    except ValueError:
        return None


def _clean(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


class Tagger:
    """Phrase and token matchers built from the curated vocabulary and topic keywords."""

    def __init__(self, curation: Curation) -> None:
        self.nlp = nlp()
        self.phrases = PhraseMatcher(self.nlp.vocab, attr="NORM")
        for kind, entries in curation.vocabulary.items():
            for value, entry in entries.items():
                surfaces = {value.replace("_", " "), entry.label, *entry.synonyms}
                self.phrases.add(f"{kind}:{value}", [self._doc(s) for s in surfaces])
        for topic_id, topic in curation.topics.items():
            if topic.keywords:
                self.phrases.add(f"topic:{topic_id}", [self._doc(k) for k in topic.keywords])
        self.spans = Matcher(self.nlp.vocab)
        self.spans.add("SPAN", _SPAN_PATTERNS)

    def _doc(self, text: str) -> Doc:
        # Match on our lower-case lookup lemmas, so "Saunas" finds "sauna".
        doc = self.nlp.make_doc(text)
        for token in doc:
            token.norm_ = lemma(token.text) or token.lower_
        return doc

    def tag(self, sentence: Sentence) -> Candidate:
        doc = self._doc(sentence.text)
        candidate = Candidate(sentence=sentence)
        labels: dict[tuple[int, int], list[str]] = {}
        for match_id, start, end in self.phrases(doc):
            labels.setdefault((start, end), []).append(self.nlp.vocab.strings[match_id])
        topic_hits: dict[str, int] = {}
        # Overlaps are resolved separately for topics and entities, so a topic keyword
        # inside a longer entity phrase still counts for its topic.
        for want_topic in (True, False):
            spans = [
                doc[start:end]
                for (start, end), names in labels.items()
                if any(name.startswith("topic:") == want_topic for name in names)
            ]
            for span in filter_spans(spans):
                for name in labels[(span.start, span.end)]:
                    prefix, _, value = name.partition(":")
                    if (prefix == "topic") != want_topic:
                        continue
                    if want_topic:
                        topic_hits[value] = topic_hits.get(value, 0) + 1
                    elif value not in candidate.qualifiers.setdefault(prefix, []):
                        candidate.qualifiers[prefix].append(value)
                if span.text not in candidate.terms:
                    candidate.terms.append(span.text)
        for span in filter_spans([doc[s:e] for _, s, e in self.spans(doc)]):
            parsed = _parse_span(doc, span.start, span.end)
            if parsed is not None:
                candidate.spans.append(parsed)
                if span.text not in candidate.terms:
                    candidate.terms.append(span.text)
        order = {topic: index for index, topic in enumerate(TOPICS)}
        topics = sorted(topic_hits, key=lambda t: (-topic_hits[t], order[t]))
        for kind in candidate.qualifiers:
            if kind in KIND_TOPIC and KIND_TOPIC[kind] not in topics:
                topics.append(KIND_TOPIC[kind])
        for span_info in candidate.spans:
            topic = _UNIT_TOPICS.get(span_info["unit"])
            if topic and topic not in topics:
                topics.insert(0, topic)
        candidate.topics = topics
        return candidate


def _parse_span(doc: Doc, start: int, end: int) -> dict[str, Any] | None:
    """{min, max, unit, text} for a matched duration such as "2-3 months"."""
    tokens = doc[start:end]
    unit_index = next((i for i, t in enumerate(tokens) if t.norm_ in _UNITS), None)
    if unit_index is None:
        return None
    unit = _UNITS[tokens[unit_index].norm_]
    words = [t.lower_ for t in tokens]
    if "half" in words:
        numbers: list[float] = [0.5]
    elif "couple" in words:
        numbers = [2]
    else:
        numbers = []
        for i, token in enumerate(tokens):
            if token.lower_ in ("a", "an") and i + 1 != unit_index:
                continue  # an article, not "a week" / "a day or two"
            value = _number(token.text)
            if value is not None and i != unit_index:
                numbers.append(value)
    if not numbers:
        return None
    low: float | None = min(numbers)
    high: float | None = max(numbers)
    if unit == "hours" and high is not None and high < 1:
        low, high, unit = (low or 0) * 60, high * 60, "minutes"
    before = doc[max(0, start - 4) : start].text.lower()
    if any(phrase in before for phrase in _AT_LEAST) and low == high:
        high = None
    elif any(phrase in before for phrase in _UP_TO) and low == high:
        low = None
    return {"min": _clean(low), "max": _clean(high), "unit": unit, "text": tokens.text}


def _draft(candidate: Candidate, source_id: str) -> dict[str, Any]:
    topic = candidate.topics[0] if candidate.topics else "TODO_topic"
    draft: dict[str, Any] = {"id": f"{topic}.TODO_short_name", "topic": topic}
    if candidate.qualifiers:
        draft["qualifiers"] = {kind: list(values) for kind, values in candidate.qualifiers.items()}
    if candidate.spans:
        first = candidate.spans[0]
        draft["span"] = {k: first[k] for k in ("min", "max", "unit") if first[k] is not None}
    draft["text"] = "TODO: write this fact in your own words (never copy the sentence)"
    draft["sources"] = [{"id": source_id, "evidence": list(candidate.terms) or ["TODO"]}]
    return draft


def analyse(
    text: str, source_id: str, curation: Curation, tagger: Tagger | None = None
) -> tuple[list[Sentence], list[Candidate]]:
    """All sentences of the article, and a candidate for each fact-bearing one."""
    tagger = tagger or Tagger(curation)
    sentences = split_sentences(text, source_id)
    candidates = [tagger.tag(s) for s in sentences if is_fact_bearing(s)]
    if source_id in curation.sources:
        # Re-ingesting a curated article: show which facts already cite each sentence.
        by_sentence: dict[int, list[str]] = {}
        for check in check_citations(curation, {source_id: sentences}):
            if check.citation.source_id != source_id:
                continue
            for sentence in check.sentences:
                ids = by_sentence.setdefault(sentence.index, [])
                if check.fact.id not in ids:
                    ids.append(check.fact.id)
        for candidate in candidates:
            candidate.covered_by = by_sentence.get(candidate.sentence.index, [])
    return sentences, candidates


def review_document(
    article: Path, source_id: str, title: str, curation: Curation, tagger: Tagger | None = None
) -> dict[str, Any]:
    sentences, candidates = analyse(
        article.read_text(encoding="utf-8"), source_id, curation, tagger
    )
    entries = []
    for candidate in candidates:
        sentence = candidate.sentence
        entry: dict[str, Any] = {
            "sentence": sentence.index,
            "line": sentence.line,
            "quote": sentence.text,
            "topics": candidate.topics,
        }
        if candidate.qualifiers:
            entry["qualifiers"] = candidate.qualifiers
        if candidate.spans:
            entry["spans"] = candidate.spans
        if candidate.covered_by:
            entry["covered_by"] = candidate.covered_by
        if not candidate.topics and not candidate.qualifiers:
            entry["note"] = "no topic matched: add a fact, or an exclusion with a reason"
        entry["draft"] = _draft(candidate, source_id)
        entries.append(entry)
    return {
        "source": {
            "id": source_id,
            "file": article.name,
            "title": title,
            "publisher": None,
            "date": None,
        },
        "summary": {
            "sentences": len(sentences),
            "fact_bearing": len(candidates),
            "with_topic": sum(1 for c in candidates if c.topics),
            "already_covered": sum(1 for c in candidates if c.covered_by),
        },
        "candidates": entries,
    }


_HEADER = """\
# Candidate facts from {file} for source '{source_id}' (python -m bot facts ingest).
# For each candidate: rewrite `draft.text` in your own words (no run of 8+ words
# from the article), fix topic/qualifiers/span, keep evidence terms that appear in
# the quoted sentence, then move the draft into a data/facts/<topic>.yml file.
# Sentences that hold no fact for patients go to data/facts/exclusions.yml with a
# reason. Add the source to data/facts/sources.yml. `quote` is for review only.
"""


def write_review(document: dict[str, Any], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    header = _HEADER.format(file=document["source"]["file"], source_id=document["source"]["id"])
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    out.write_text(header + body, encoding="utf-8")
    return out
