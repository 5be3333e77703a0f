"""The question inside a story: "my dad went bald at 40 ... how many sessions would I need?"

Patients often tell their story first and ask at the end. On the whole message the
text models see mostly the story, so the question's words are drowned out (a dev set
of 36 such messages, docs/evaluation.md: 30 right whole, 36 right on the question
sentence alone). The question sentence alone, though, loses the story, and the story
may hold what makes the message personal or urgent. So the intent ensemble and the
fact ranker score both texts and average them, and a safety intent's score is never
lowered by the focus (``focused_probabilities``). The red-flag and personal-condition
guards always read the whole message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A sentence ends at ., ! or ? (or a line break) followed by space.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*")
# A sentence typed without "?" is still a question when it starts like one.
_QUESTION_START = re.compile(
    r"^(?:so\s+|but\s+|and\s+|ok\s+|okay\s+)?"
    r"(?:how|what|whats|what's|when|where|which|why|who|is|are|am|do|does|did|can|could|"
    r"will|would|should|shall|may|any|r)\b",
    re.IGNORECASE,
)
# Shorter than this, the message is a question, not a story around one.
MIN_STORY_WORDS = 12


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def question_focus(text: str) -> str | None:
    """The question sentences of a message that tells a story around them, else None.

    None for a message of one sentence, one with no question sentence, one whose
    sentences are all questions, and one too short to be a story.
    """
    if _words(text) < MIN_STORY_WORDS:
        return None
    sentences = [sentence.strip() for sentence in _SENTENCE_END.split(text) if sentence.strip()]
    if len(sentences) < 2:
        return None
    questions = [
        sentence
        for sentence in sentences
        if sentence.endswith("?") or _QUESTION_START.match(sentence)
    ]
    if not questions or len(questions) == len(sentences):
        return None
    return " ".join(questions)


def focused_probabilities(
    whole: dict[str, float],
    focus: dict[str, float],
    focus_weight: float,
    protected: Iterable[str] = (),
) -> dict[str, float]:
    """``whole`` and ``focus`` averaged with ``focus_weight``; they sum to 1 again.

    A ``protected`` label keeps at least its score on the whole message: the story
    around a question is where "I'm pregnant" or "my face is swelling" is written.
    """
    labels = set(whole) | set(focus)
    mixed = {
        label: (1.0 - focus_weight) * whole.get(label, 0.0) + focus_weight * focus.get(label, 0.0)
        for label in labels
    }
    for label in protected:
        if label in mixed:
            mixed[label] = max(mixed[label], whole.get(label, 0.0))
    total = sum(mixed.values()) or 1.0
    return {label: value / total for label, value in mixed.items()}
