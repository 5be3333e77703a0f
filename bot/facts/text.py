"""Article text as sentences, and the lemma-aware term matching the curation tools share.

Evidence checks, coverage and ingest must agree on what "a sentence" is and on when a
term "appears" in it, so all three go through this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from spacy.language import Language

# Characters that start a bullet line in the scraped articles; dropped so the bullet
# text reads as a normal sentence.
_BULLET = re.compile(r"^[\s•*\-–—]+")
_WORD = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article, with lemma-normalised tokens for matching."""

    source_id: str
    index: int  # 0-based position among the article's sentences
    line: int  # 1-based line of the article file
    text: str
    norms: tuple[str, ...]  # lower-case lemmas, punctuation dropped

    @property
    def words(self) -> int:
        return sum(1 for norm in self.norms if _WORD.search(norm))

    def contains(self, term_norms: Sequence[str]) -> bool:
        return contains_run(self.norms, term_norms)


def nlp() -> Language:
    """The project's pipeline (blank English, sentencizer, lookup lemmatizer), loaded once."""
    from bot.nlp import load_pipeline

    return load_pipeline()


@lru_cache(maxsize=1)
def _lemma_table() -> dict[str, str] | None:
    lemmatizer = nlp().get_pipe("lemmatizer")
    table = lemmatizer.lookups.get_table("lemma_lookup")
    return table  # type: ignore[return-value]


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """Lower-case lookup lemma of one word.

    spaCy's lookup lemmatizer is case-sensitive ("Saunas" is not in the table), so we
    look the lower-cased form up ourselves.
    """
    # Curly and straight apostrophes must compare equal ("hair’s" vs "hair's"), and
    # the table maps the clitic "'s" to "have", which is wrong as often as not.
    lower = word.lower().replace("\u2019", "'").strip("-\u2013\u2014")
    if lower.startswith("'"):
        return lower
    table = _lemma_table()
    found = table.get(lower) if table is not None else None
    return str(found) if found else lower


def _keep(token_text: str) -> bool:
    return bool(_WORD.search(token_text) or _DIGIT.search(token_text))


def norms_of(text: str) -> tuple[str, ...]:
    """Tokenise ``text`` with the project tokenizer and lemma-normalise each word."""
    doc = nlp().make_doc(text)
    return tuple(lemma(token.text) for token in doc if _keep(token.text))


def contains_run(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    """True if ``needle`` occurs as a contiguous run inside ``haystack``."""
    if not needle:
        return False
    size = len(needle)
    first = needle[0]
    return any(
        haystack[start] == first and tuple(haystack[start : start + size]) == tuple(needle)
        for start in range(len(haystack) - size + 1)
    )


def split_sentences(text: str, source_id: str = "") -> list[Sentence]:
    """Split an article into sentences.

    The sentencizer only splits on punctuation, and the articles use bare lines for
    headings and bullets, so each non-empty line is split on its own.
    """
    lines = [
        (number, _BULLET.sub("", raw).strip())
        for number, raw in enumerate(text.splitlines(), start=1)
    ]
    lines = [(number, line) for number, line in lines if line]
    sentences: list[Sentence] = []
    for (number, _), doc in zip(lines, nlp().pipe(line for _, line in lines), strict=True):
        for sent in doc.sents:
            sent_text = sent.text.strip()
            if not sent_text:
                continue
            norms = tuple(lemma(token.text) for token in sent if _keep(token.text))
            if not norms:
                continue
            sentences.append(
                Sentence(
                    source_id=source_id,
                    index=len(sentences),
                    line=number,
                    text=sent_text,
                    norms=norms,
                )
            )
    return sentences


def is_fact_bearing(sentence: Sentence) -> bool:
    """Whether a sentence may state a fact, so coverage must account for it.

    Deliberately generous: anything with a number, and any full sentence of four or more
    words. Headings (no closing punctuation, short) and question headings are left out;
    everything else must be covered by a fact or excluded with a reason.
    """
    text = sentence.text.rstrip()
    if text.endswith("?"):
        return False
    if any(_DIGIT.search(norm) for norm in sentence.norms):
        return True
    if sentence.words < 4:
        return False
    return text.endswith((".", "!", ";", ":")) or sentence.words >= 12


def word_ngrams(text: str, size: int) -> set[tuple[str, ...]]:
    """Lower-case word n-grams, used to prove fact texts are not copied from articles."""
    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def find_sentences(sentences: Iterable[Sentence], terms: Sequence[str]) -> list[Sentence]:
    """Sentences that contain every term (lemma-aware)."""
    term_norms = [norms_of(term) for term in terms]
    if not term_norms or any(not norms for norms in term_norms):
        return []
    return [s for s in sentences if all(s.contains(norms) for norms in term_norms)]
