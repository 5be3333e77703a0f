"""Word normalisation for lookups at query time, without spaCy.

The build stores a small form -> lemma table computed with spaCy's lookup lemmatizer
(see ``bot.facts.build``); this module applies it. Both the stored synonyms and the
user's words go through ``normalize`` so they compare equal ("Saunas" == "sauna").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

_WORD = re.compile(r"[a-z0-9]+")

# Suffix rules for a word the form table does not know (typos, rare plurals).
_PLURAL_RULES = (("ies", "y"), ("es", ""), ("s", ""))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("_", " "))


def _guess(word: str, known: Collection[str]) -> str:
    for suffix, replacement in _PLURAL_RULES:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            candidate = word[: -len(suffix)] + replacement
            if candidate in known:
                return candidate
    return word


def normalize(
    text: str, forms: Mapping[str, str], known: Collection[str] = frozenset()
) -> tuple[str, ...]:
    """Lower-case lemmas of the words in ``text``."""
    result = []
    for word in words(text):
        lemma = forms.get(word)
        if lemma is None:
            lemma = word if word in known else _guess(word, known)
        result.append(lemma)
    return tuple(result)


def contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    size = len(needle)
    if not size:
        return False
    return any(haystack[i : i + size] == needle for i in range(len(haystack) - size + 1))


# Candidate inflections of a base word; the build keeps those that spaCy's lookup
# table maps back to the base, so no wrong guesses reach the table.
def inflections(base: str) -> Iterable[str]:
    yield from (base + "s", base + "es", base + "ing", base + "ed", base + "d")
    if base.endswith("y"):
        yield base[:-1] + "ies"
        yield base[:-1] + "ied"
    if base.endswith("e"):
        yield base[:-1] + "ing"
    if len(base) > 2:
        yield base + base[-1] + "ing"
        yield base + base[-1] + "ed"
