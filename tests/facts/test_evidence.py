"""Every fact is true to its sources, and written in our own words."""

from __future__ import annotations

import dataclasses

from bot.facts.coverage import check_citations
from bot.facts.loader import Curation
from bot.facts.text import Sentence, split_sentences, word_ngrams

COPY_RUN = 8  # words in a row that count as copying


def test_every_citation_has_its_evidence_in_one_sentence(
    curation: Curation, articles: dict[str, list[Sentence]]
) -> None:
    checks = check_citations(curation, articles)
    assert len(checks) >= len(curation.facts)
    failures = [check.describe() for check in checks if not check.ok]
    assert not failures, "evidence not found together in one sentence:\n" + "\n".join(failures)


def test_a_wrong_citation_fails_the_same_checker(
    curation: Curation, articles: dict[str, list[Sentence]]
) -> None:
    origin = next(f for f in curation.facts if f.id == "origin.france_1952")
    right = origin.citations[0]
    assert right.source_id == "what-is-mesotherapy"
    # Pistor and 1952 are in what-is-mesotherapy, not in Vizox Clinique's article.
    wrong = dataclasses.replace(right, source_id="vizox-clinique")
    # Terms that exist in the article, but never in the same sentence.
    scattered = dataclasses.replace(right, evidence=("1952", "collagen"))
    for citation, ok in ((right, True), (wrong, False), (scattered, False)):
        fact = dataclasses.replace(origin, citations=(citation,))
        only = dataclasses.replace(curation, facts=[fact])
        [check] = check_citations(only, articles)
        assert check.ok is ok, check.describe()


def test_evidence_matching_is_lemma_aware(articles: dict[str, list[Sentence]]) -> None:
    vizox = articles["vizox-clinique"]
    only = [s for s in vizox if s.contains(("refrain",)) and s.contains(("24", "hour"))]
    assert len(only) == 1  # "hours" in the article, "hour" after lemmatising


def _article_ngrams(articles: dict[str, list[Sentence]]) -> set[tuple[str, ...]]:
    grams: set[tuple[str, ...]] = set()
    for sentences in articles.values():
        for sentence in sentences:
            grams |= word_ngrams(sentence.text, COPY_RUN)
    return grams


def test_no_fact_text_copies_eight_words_from_an_article(
    curation: Curation, articles: dict[str, list[Sentence]]
) -> None:
    grams = _article_ngrams(articles)
    copied = []
    for fact in curation.facts:
        texts = [fact.text, *(c.says for c in fact.citations if c.says)]
        for text in texts:
            shared = word_ngrams(text, COPY_RUN) & grams
            if shared:
                copied.append(f"{fact.id}: {' '.join(sorted(shared)[0])}")
    for exclusion in curation.exclusions:
        for term in exclusion.match:
            if word_ngrams(term, COPY_RUN) & grams:
                copied.append(f"{exclusion.file}:{exclusion.line}: {term}")
    assert not copied, "runs of 8+ words copied from an article:\n" + "\n".join(copied)


def test_the_copy_check_catches_a_copied_sentence() -> None:
    # A made-up article sentence: test data must not quote the real articles either.
    article = split_sentences("The clinic kettle boils water in under three minutes every day.")
    grams = _article_ngrams({"x": article})
    assert word_ngrams("Note: the clinic kettle boils water in under three minutes, ok.", 8) & grams
    assert not word_ngrams("Our kettle at the clinic boils in under three minutes.", 8) & grams
