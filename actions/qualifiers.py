"""The one place where a patient's message becomes fact-base qualifiers.

NLU extracts entities (``activity: sauna``) and maps synonyms; when it misses one
("can I go in the steam room after?"), the fact base's own vocabulary finds it in
the text with ``FactBase.resolve``, which knows every synonym and word form. Both
paths end in canonical values from docs/architecture.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.facts.contract import KIND_TOPIC
from bot.facts.query import FactBase

# Entity kinds that qualify an answer. `condition` is only used for personal-medical
# messages (actions.personal_medical), never to pick answer facts.
ANSWER_KINDS: tuple[str, ...] = tuple(KIND_TOPIC)


def detect_qualifiers(
    fact_base: FactBase,
    entities: Sequence[Mapping[str, Any]],
    text: str | None,
    kinds: Iterable[str] = ANSWER_KINDS,
) -> dict[str, str]:
    """Canonical value per kind: from the NLU entities first, else from the text.

    The first entity of a kind wins; values NLU did not map to a canonical id are
    resolved through the vocabulary, and unknown values are dropped.
    """
    wanted = [kind for kind in kinds if kind in _known_kinds(fact_base)]
    found: dict[str, str] = {}
    for entity in entities:
        kind = entity.get("entity")
        value = entity.get("value")
        if kind not in wanted or kind in found or not isinstance(value, str):
            continue
        canonical = fact_base.resolve(kind, value)
        if canonical is not None:
            found[kind] = canonical
    if text:
        for kind in wanted:
            if kind not in found and (canonical := fact_base.resolve(kind, text)):
                found[kind] = canonical
    return found


# Words of a follow-up that carry no subject ("and what about ... then?").
_FOLLOW_UP_FILLER = frozenset({
    "a", "about", "also", "and", "are", "as", "at", "be", "bout", "but", "can", "could",
    "do", "does", "for", "from", "hmm", "how", "i", "if", "in", "is", "it", "its", "me",
    "my", "n", "of", "ok", "okay", "on", "or", "question", "same", "so", "that", "the",
    "then", "this", "those", "to", "too", "u", "wat", "what", "wht", "with", "you", "your",
})  # fmt: skip


def follow_up_terms(text: str | None) -> list[str]:
    """The subject words of an entity-less follow-up: "and for women?" -> ["women"]."""
    words = re.findall(r"[a-z0-9']+", (text or "").lower())
    return [word for word in words if word not in _FOLLOW_UP_FILLER and len(word) > 1]


def _known_kinds(fact_base: FactBase) -> set[str]:
    kinds = set()
    for kind in (*ANSWER_KINDS, "condition"):
        try:
            fact_base.vocabulary(kind)
        except ValueError:
            continue  # a fact base built without this kind: nothing to detect
        kinds.add(kind)
    return kinds
