"""``action_answer_question``: answer a question about mesotherapy from the fact base.

The intent names the topic (``ask_<topic>``); a follow-up (``ask_what_about``) reuses
the previous topic from the ``topic`` slot with the new entity. ``AnswerPlanner``
picks the facts, ``actions.composer`` writes them, and the action sends:

1. ``utter_medical_reminder`` first for medical topics (side effects, safety,
   preparation, contraindications); the widget attaches sources to the LAST text
   of a turn, so the reminder must not come after the answer;
2. the answer (one or two messages, the last ending in a ``Sources:`` line) with 2-3
   next-question buttons on the last message;
3. a ``custom`` message ``{"data": {"kind": "answer_meta", ...}}`` for the widget
   and the staff app (docs/architecture.md, "Bot messages").

It never stays silent: with no facts it says so and offers clinic staff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.composer import ComposedAnswer
from actions.fact_base_action import FactBaseAction
from actions.next_questions import buttons, next_questions
from actions.qualifiers import ANSWER_KINDS, detect_qualifiers, follow_up_terms
from bot.contract import (
    ANSWER_INTENT_PREFIX,
    DISCLAIMER_SLOT,
    FACT_RANKING_KEY,
    FOLLOW_UP_INTENT,
    QUESTION_PARTS_KEY,
    UNCOVERED_FACT_PREFIX,
    is_uncovered_fact,
)
from bot.facts.contract import KIND_TOPIC
from bot.facts.query import Fact, FactBase, VocabularyEntry

logger = logging.getLogger(__name__)

MEDICAL_TOPICS = frozenset({"side_effects", "safety", "preparation", "contraindications"})
RELATED_LIMIT = 3
# Fact-ranker scores (bot/rasa_ext/fact_ranker.py), chosen by 5-fold cross-validation
# on data/nlu/facts, never on the evaluation sets (docs/evaluation.md). Whether the
# articles answer at all is judged on the best topic's summed score (a clear topic
# whose facts split the vote is still answered): 99 % of the held-out folds'
# questions reach COVERAGE_THRESHOLD.
COVERAGE_THRESHOLD = 0.077  # below it the articles don't answer the question
ANSWER_THRESHOLD = 0.05  # a fact scoring less is never sent
SECOND_FACT_RATIO = 0.6  # a second fact joins when it scores this close to the first
PART_THRESHOLD = 0.3  # a second question is answered when its best fact matches this well
QUALIFIER_BOOST = 2.0  # a fact about the thing the patient named (sauna, biotin)
CONTEXT_BOOST = 2.0  # a short message's facts of the previous answer's topic
CONTEXT_WORDS = 6  # "short": this many words or fewer
# An `uncovered.<topic>` class of the ranker (data/nlu/facts/uncovered.yml) that scores
# at least this share of the best fact's boosted score means the articles don't answer.
UNCOVERED_RATIO = 1.0


@dataclass(frozen=True)
class RankedFact:
    fact: Fact
    score: float


@dataclass(frozen=True)
class Uncovered:
    """The ranker's best "the articles don't answer this" class for a message."""

    topic: str
    score: float


def best_uncovered(ranking: Any) -> Uncovered | None:
    """The best ``uncovered.<topic>`` entry of the parse data's ``fact_ranking``."""
    if not isinstance(ranking, list):
        return None
    found: Uncovered | None = None
    for entry in ranking:
        if not isinstance(entry, dict):
            continue
        fact_id, score = str(entry.get("id")), entry.get("score")
        if not is_uncovered_fact(fact_id) or not isinstance(score, int | float):
            continue
        if found is None or score > found.score:
            found = Uncovered(fact_id.removeprefix(UNCOVERED_FACT_PREFIX), float(score))
    return found


def ranked_facts(fact_base: FactBase, ranking: Any) -> list[RankedFact]:
    """The parse data's ``fact_ranking`` as facts of this fact base (unknown ids dropped)."""
    if not isinstance(ranking, list):
        return []
    found: list[RankedFact] = []
    for entry in ranking:
        if not isinstance(entry, dict):
            continue
        fact = fact_base.fact(str(entry.get("id")))
        score = entry.get("score")
        if fact is not None and isinstance(score, int | float):
            found.append(RankedFact(fact, float(score)))
    return found


@dataclass
class AnswerPlan:
    """Which facts answer the question, and about what."""

    topic: str
    facts: list[Fact]
    qualifiers: dict[str, str] = field(default_factory=dict)
    # Set when the patient asked about something the articles don't cover (swimming).
    not_covered: VocabularyEntry | None = None
    # The fact ranker's scores behind the choice, for answer_meta and the staff app.
    scores: dict[str, float] = field(default_factory=dict)


def label_in_sentence(entry: VocabularyEntry) -> str:
    """The label inside a sentence: "Swimming" -> "swimming", but "PRP" stays "PRP"."""
    label = entry.label
    if label[:2].isupper():
        return label
    return label[:1].lower() + label[1:]


class AnswerPlanner:
    """Chooses the facts for a question: topic, qualifiers, follow-up, uncovered values."""

    def __init__(self, fact_base: FactBase) -> None:
        self.fb = fact_base

    def plan(
        self,
        intent: str,
        entities: list[dict[str, Any]],
        text: str | None,
        previous_topic: str | None,
        ranking: Any = None,
        question_parts: Any = None,
    ) -> AnswerPlan | None:
        """The plan, or None when a follow-up names nothing we can look up.

        With the fact ranker's ``ranking`` (parse data of a typed message) the facts
        that answer the question are chosen; without it (a button payload names the
        intent and entity itself) the topic's facts are, narrowed by the entity.
        """
        topics = self.fb.topics()
        if intent == FOLLOW_UP_INTENT:
            qualifiers = detect_qualifiers(self.fb, entities, text, ANSWER_KINDS)
            if not qualifiers:
                return self._unqualified_follow_up(
                    text, previous_topic if previous_topic in topics else None
                )
            kind = next(iter(qualifiers))
            topic = previous_topic if previous_topic in topics else KIND_TOPIC[kind]
            return self._qualified(topic, qualifiers, follow_up=True)
        topic = intent.removeprefix(ANSWER_INTENT_PREFIX)
        if topic not in topics:
            logger.warning("Intent %s names no fact-base topic", intent)
            return AnswerPlan(topic=topic, facts=[])
        qualifiers = detect_qualifiers(self.fb, entities, text, self._kinds_of(topic))
        ranked = ranked_facts(self.fb, ranking)
        if ranked and not self._names_uncovered_value(qualifiers):
            return self._from_ranking(
                ranked, qualifiers, question_parts, previous_topic, text, best_uncovered(ranking)
            )
        if not qualifiers:
            return AnswerPlan(topic=topic, facts=self.fb.facts_for(topic))
        return self._qualified(topic, qualifiers, follow_up=False)

    def _names_uncovered_value(self, qualifiers: dict[str, str]) -> bool:
        """The patient named something the articles don't cover (swimming, PRP…)."""
        if not qualifiers:
            return False
        kind, value = next(iter(qualifiers.items()))
        entry = self.fb.vocabulary(kind).get(value)
        return entry is not None and not entry.has_facts

    def _from_ranking(
        self,
        ranked: list[RankedFact],
        qualifiers: dict[str, str],
        question_parts: Any,
        previous_topic: str | None = None,
        text: str | None = None,
        uncovered: Uncovered | None = None,
    ) -> AnswerPlan:
        """The one or two facts that answer the question, or each of two questions.

        No facts when the articles don't answer it: the best topic's facts score too
        little together, or an ``uncovered.<topic>`` class outranks the best fact.
        """
        values = set(qualifiers.items())
        # A short message leans on the conversation: "how long do they last?" after an
        # answer about side effects asks about side effects.
        leans_on_context = previous_topic is not None and len((text or "").split()) <= CONTEXT_WORDS

        def boosted(item: RankedFact) -> float:
            factor = 1.0
            if any(
                (kind, value) in values
                for kind, fact_values in item.fact.qualifiers.items()
                for value in fact_values
            ):
                factor *= QUALIFIER_BOOST
            if leans_on_context and item.fact.topic == previous_topic:
                factor *= CONTEXT_BOOST
            return item.score * factor

        ranked = sorted(ranked, key=lambda item: -boosted(item))
        scores = {item.fact.id: item.score for item in ranked}
        best = ranked[0]
        coverage = sum(boosted(item) for item in ranked if item.fact.topic == best.fact.topic)
        if coverage < COVERAGE_THRESHOLD or boosted(best) < ANSWER_THRESHOLD:
            return AnswerPlan(topic=best.fact.topic, facts=[], scores=scores)
        if uncovered is not None and uncovered.score >= UNCOVERED_RATIO * boosted(best):
            topic = uncovered.topic if uncovered.topic in self.fb.topics() else best.fact.topic
            return AnswerPlan(topic=topic, facts=[], scores=scores)
        facts = self._each_question(question_parts, best.fact)
        if len(facts) == 1 and len(ranked) > 1:
            second = ranked[1]
            if boosted(second) >= max(ANSWER_THRESHOLD, SECOND_FACT_RATIO * boosted(best)):
                facts.append(second.fact)
        first = facts[0]
        matched = {kind: value for kind, value in qualifiers.items() if value in first.values(kind)}
        return AnswerPlan(first.topic, facts, matched, scores=scores)

    def _each_question(self, question_parts: Any, best: Fact) -> list[Fact]:
        """One fact per question, in the order asked; ``best`` alone for one question.

        Each part was ranked on its own words; a part whose best fact matches poorly
        is answered by the whole message's best fact (first part) or left out.
        """
        if not isinstance(question_parts, list) or len(question_parts) < 2:
            return [best]
        per_part: list[Fact | None] = []
        for part in question_parts:
            found = (
                ranked_facts(self.fb, part.get(FACT_RANKING_KEY)) if isinstance(part, dict) else []
            )
            per_part.append(found[0].fact if found and found[0].score >= PART_THRESHOLD else None)
        first = per_part[0] or best
        for fact in per_part[1:]:
            if fact is not None and fact.id != first.id:
                return [first, fact]
        return [first]

    def _unqualified_follow_up(
        self, text: str | None, previous_topic: str | None
    ) -> AnswerPlan | None:
        """A follow-up with no entity ("and for women?"): the previous topic again.

        Facts that mention the follow-up's words come first. With no previous topic,
        the facts that mention the words; with neither, None.
        """
        mentioned: dict[str, Fact] = {}
        for term in follow_up_terms(text):
            for fact in self.fb.about(term):
                mentioned.setdefault(fact.id, fact)
        if previous_topic is None:
            if not mentioned:
                return None
            topic = next(iter(mentioned.values())).topic
            return AnswerPlan(topic, [f for f in mentioned.values() if f.topic == topic])
        facts = self.fb.facts_for(previous_topic)
        first = [fact for fact in facts if fact.id in mentioned]
        return AnswerPlan(previous_topic, first + [f for f in facts if f.id not in mentioned])

    def _kinds_of(self, topic: str) -> list[str]:
        """Entity kinds that can narrow this topic's answer."""
        facts = self.fb.facts_for(topic)
        return [
            kind
            for kind in ANSWER_KINDS
            if KIND_TOPIC[kind] == topic or any(fact.values(kind) for fact in facts)
        ]

    def _matching(self, topic: str, qualifiers: dict[str, str], kind: str) -> list[Fact]:
        value = qualifiers[kind]
        return [f for f in self.fb.facts_for(topic, qualifiers) if value in f.values(kind)]

    def _qualified(self, topic: str, qualifiers: dict[str, str], follow_up: bool) -> AnswerPlan:
        # The first qualifier is what the patient asked about; the others only rank.
        kind, value = next(iter(qualifiers.items()))
        entry = self.fb.vocabulary(kind).get(value)
        matching = self._matching(topic, qualifiers, kind)
        if matching:
            return AnswerPlan(topic, matching, qualifiers)
        kind_topic = KIND_TOPIC[kind]
        if entry is not None and entry.has_facts:
            if not follow_up and topic != kind_topic:
                # "Does it hurt?" with side_effect=pain: the asked topic wins.
                return AnswerPlan(topic, self.fb.facts_for(topic), {})
            # The value is covered, just not under this topic ("what about biotin?"
            # after a question about sessions).
            matching = self._matching(kind_topic, qualifiers, kind) or [
                fact for fact_id in entry.fact_ids if (fact := self.fb.fact(fact_id))
            ]
            answer_topic = matching[0].topic
            return AnswerPlan(
                answer_topic, [f for f in matching if f.topic == answer_topic], qualifiers
            )
        if entry is None:
            return AnswerPlan(topic, self.fb.facts_for(topic), {})
        if follow_up:
            topic = kind_topic
        related = self.fb.related_facts(kind, value, limit=RELATED_LIMIT)
        return AnswerPlan(topic, related, qualifiers, not_covered=entry)


def answer_meta(
    topic: str,
    composed: ComposedAnswer,
    scores: dict[str, float] | None = None,
    covered: bool = True,
) -> dict[str, Any]:
    """The ``custom`` payload of docs/architecture.md (under ``data`` for socketio)."""
    return {
        "data": {
            "kind": "answer_meta",
            "topic": topic,
            "covered": covered,
            "fact_ids": [fact.id for fact in composed.facts],
            "scores": {fact.id: scores[fact.id] for fact in composed.facts if fact.id in scores}
            if scores
            else {},
            "sources": [
                {"id": source.id, "title": source.title, "publisher": source.publisher}
                for source in composed.sources
            ],
        }
    }


INTRO_DISCLAIMER_RESPONSE = "utter_intro_disclaimer"


class ActionAnswerQuestion(FactBaseAction):
    """Answer any ``ask_<topic>`` or ``ask_what_about`` message from the fact base."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name") or ""
        plan = AnswerPlanner(self.fact_base).plan(
            intent,
            list(message.get("entities") or []),
            message.get("text"),
            tracker.get_slot("topic"),
            message.get(FACT_RANKING_KEY),
            message.get(QUESTION_PARTS_KEY),
        )
        if plan is None:
            dispatcher.utter_message(response="utter_ask_what_about_clarify")
            return []
        if not plan.facts:
            dispatcher.utter_message(response="utter_no_facts")
            return [SlotSet("topic", plan.topic)] if plan.topic in self.fact_base.topics() else []
        # Widget conversations saw the disclaimer in the greeting; one that starts with a
        # question (REST, WhatsApp) gets it once, with its first answer.
        first_answer = not tracker.get_slot(DISCLAIMER_SLOT)
        if first_answer:
            dispatcher.utter_message(response=INTRO_DISCLAIMER_RESPONSE)
        # The intro already says "not personal medical advice"; don't repeat it at once.
        self.send(dispatcher, plan, remind=not first_answer)
        events: list[EventType] = [SlotSet("topic", plan.topic)]
        if first_answer:
            events.append(SlotSet(DISCLAIMER_SLOT, True))
        return events

    def send(self, dispatcher: CollectingDispatcher, plan: AnswerPlan, remind: bool = True) -> None:
        intro = None
        if plan.not_covered is not None:
            intro = (
                f"The articles don't cover {label_in_sentence(plan.not_covered)} specifically, "
                "so the clinic team is best placed to advise you. The closest they say:"
            )
        composed = self.composer.compose(plan.facts, intro=intro)
        if remind and plan.topic in MEDICAL_TOPICS:
            dispatcher.utter_message(response="utter_medical_reminder")
        questions = next_questions(
            plan.topic, plan.qualifiers, offer_staff=plan.not_covered is not None
        )
        for index, text in enumerate(composed.messages):
            is_last = index == len(composed.messages) - 1
            dispatcher.utter_message(text=text, buttons=buttons(questions) if is_last else [])
        dispatcher.utter_message(
            json_message=answer_meta(
                plan.topic, composed, plan.scores, covered=plan.not_covered is None
            )
        )
