"""action_answer_question with the real fact base built from data/facts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.answering import MEDICAL_TOPICS, ActionAnswerQuestion
from bot.config import get_settings
from bot.facts.contract import ENTITY_VALUES, TOPICS
from bot.facts.query import FactBase
from tests.actions.conftest import customs, entity, make_tracker, responses, slot_events, texts

SOURCES_LINE = re.compile(r"\nSources: (“[^”]+”( \([^)]+\))?)(; “[^”]+”( \([^)]+\))?)*$")
BODY_LIMIT = 560  # ~400 characters; a single long fact may not be cut mid-sentence


async def ask(
    fact_base: FactBase,
    intent: str,
    text: str = "",
    entities: list[dict[str, Any]] | None = None,
    topic: str | None = None,
    greeted: bool = True,
) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    """Run the action; by default the patient has already seen the greeting (widget)."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        intent=intent,
        text=text,
        entities=entities or [],
        slots={"topic": topic, "disclaimer_shown": greeted},
    )
    events = await ActionAnswerQuestion(fact_base).run(dispatcher, tracker, {})
    return dispatcher, events


def answer_meta(dispatcher: CollectingDispatcher) -> dict[str, Any]:
    [custom] = customs(dispatcher)
    return custom["data"]


def buttons_of(dispatcher: CollectingDispatcher) -> list[dict[str, str]]:
    return [b for m in dispatcher.messages for b in m.get("buttons") or []]


def test_fact_base_has_every_contract_topic(fact_base: FactBase) -> None:
    assert fact_base.topics() == list(TOPICS)


@pytest.mark.parametrize("topic", TOPICS)
async def test_every_topic_is_answered_with_a_citation(fact_base: FactBase, topic: str) -> None:
    dispatcher, events = await ask(fact_base, f"ask_{topic}")

    answer = texts(dispatcher)
    assert 1 <= len(answer) <= 2
    assert SOURCES_LINE.search(answer[-1]), answer[-1]
    for message in answer:
        body = message.split("\nSources:")[0]
        assert len(body) <= BODY_LIMIT, body
    meta = answer_meta(dispatcher)
    assert meta["kind"] == "answer_meta" and meta["topic"] == topic
    # The answer shows exactly the facts the payload names, and cites their sources.
    for fact_id in meta["fact_ids"]:
        fact = fact_base.fact(fact_id)
        assert fact.topic == topic
        assert fact.text.strip() in " ".join(answer)
    for source in meta["sources"]:
        assert f"“{source['title']}”" in answer[-1]
    assert slot_events(events) == {"topic": topic}
    assert 2 <= len(buttons_of(dispatcher)) <= 3
    assert (responses(dispatcher) == ["utter_medical_reminder"]) is (topic in MEDICAL_TOPICS)


async def test_payload_has_the_contract_shape(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(fact_base, "ask_number_of_sessions", "how many sessions?")

    meta = answer_meta(dispatcher)
    assert set(meta) == {"kind", "topic", "covered", "fact_ids", "scores", "sources"}
    assert meta["topic"] == "number_of_sessions"
    assert meta["fact_ids"] and all(isinstance(i, str) for i in meta["fact_ids"])
    for source in meta["sources"]:
        assert set(source) == {"id", "title", "publisher"}
        assert fact_base.source(source["id"]).title == source["title"]
    json.dumps(meta)  # what the socketio channel emits must be JSON


async def test_buttons_sit_on_the_last_answer_message_only(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(fact_base, "ask_what_is")

    with_buttons = [m for m in dispatcher.messages if m.get("buttons")]
    last_text = [m for m in dispatcher.messages if m.get("text")][-1]
    assert with_buttons == [last_text]
    # ...and the answer_meta comes after it, as the widget expects.
    assert dispatcher.messages[-1].get("custom")


async def test_medical_reminder_comes_before_the_answer(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(fact_base, "ask_side_effects")

    kinds = [("response" if m.get("response") else "text" if m.get("text") else "custom")
             for m in dispatcher.messages]  # fmt: skip
    assert kinds[0] == "response" and kinds[-1] == "custom"
    assert responses(dispatcher) == ["utter_medical_reminder"]


async def test_entity_narrows_the_answer(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(
        fact_base, "ask_aftercare", "can i go to the sauna after", [entity("activity", "sauna")]
    )

    meta = answer_meta(dispatcher)
    assert meta["fact_ids"]
    assert all("sauna" in fact_base.fact(i).values("activity") for i in meta["fact_ids"])
    assert "sauna" in texts(dispatcher)[0].lower()
    payloads = [b["payload"] for b in buttons_of(dispatcher)]
    assert '/ask_aftercare{"activity":"sauna"}' not in payloads  # not the question just asked


async def test_qualifier_missed_by_nlu_is_found_in_the_text(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(fact_base, "ask_aftercare", "is the steam room ok afterwards?")

    meta = answer_meta(dispatcher)
    assert all("sauna" in fact_base.fact(i).values("activity") for i in meta["fact_ids"])


async def test_follow_up_uses_the_previous_topic(fact_base: FactBase) -> None:
    dispatcher, events = await ask(
        fact_base,
        "ask_what_about",
        "what about the gym?",
        [entity("activity", "exercise")],
        topic="aftercare",
    )

    meta = answer_meta(dispatcher)
    assert meta["topic"] == "aftercare"
    assert all("exercise" in fact_base.fact(i).values("activity") for i in meta["fact_ids"])
    assert slot_events(events) == {"topic": "aftercare"}


async def test_follow_up_about_a_side_effect_after_side_effects(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(
        fact_base, "ask_what_about", "and bruising?", [entity("side_effect", "bruising")],
        topic="side_effects",
    )  # fmt: skip

    meta = answer_meta(dispatcher)
    assert meta["topic"] == "side_effects"
    assert all("bruising" in fact_base.fact(i).values("side_effect") for i in meta["fact_ids"])


async def test_follow_up_without_previous_topic_infers_it_from_the_entity(
    fact_base: FactBase,
) -> None:
    dispatcher, events = await ask(
        fact_base, "ask_what_about", "and biotin?", [entity("ingredient", "biotin")]
    )

    assert answer_meta(dispatcher)["topic"] == "ingredients"
    assert "biotin" in " ".join(texts(dispatcher)).lower()
    assert slot_events(events) == {"topic": "ingredients"}


async def test_follow_up_on_another_kind_moves_to_that_kinds_topic(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(
        fact_base, "ask_what_about", "and the sauna?", [entity("activity", "sauna")],
        topic="number_of_sessions",
    )  # fmt: skip

    assert answer_meta(dispatcher)["topic"] == "aftercare"


async def test_follow_up_without_entity_repeats_the_previous_topic(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(fact_base, "ask_what_about", "and for women?", topic="candidates")

    meta = answer_meta(dispatcher)
    assert meta["topic"] == "candidates"
    assert "women" in fact_base.fact(meta["fact_ids"][0]).text


async def test_follow_up_with_nothing_to_go_on_asks_what_about(fact_base: FactBase) -> None:
    dispatcher, events = await ask(fact_base, "ask_what_about", "hmm and?")

    assert responses(dispatcher) == ["utter_ask_what_about_clarify"]
    assert events == []


async def test_disagreement_shows_both_values_and_who_says_them(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(
        fact_base,
        "ask_aftercare",
        "when can i wash my hair?",
        [entity("activity", "hair_washing")],
    )

    answer = " ".join(texts(dispatcher))
    assert "24 hours" in answer
    assert re.search(r"2[–-]3 days|2 to 3 days", answer)
    # Who says what: both articles named next to their figure, and in the Sources line.
    assert "Vizox Clinique: at least 24 hours" in answer
    assert "Healthcare Business Today: 2–3 days" in answer
    assert "(Vizox Clinique)" in answer and "(Healthcare Business Today)" in answer


async def test_uncovered_qualifier_says_so_gives_related_facts_and_offers_staff(
    fact_base: FactBase,
) -> None:
    dispatcher, events = await ask(
        fact_base, "ask_aftercare", "can I go swimming after?", [entity("activity", "swimming")]
    )

    answer = texts(dispatcher)
    assert answer[0].startswith("The articles don't cover swimming specifically")
    meta = answer_meta(dispatcher)
    related = {value for _, value in fact_base.vocabulary("activity")["swimming"].related}
    assert meta["fact_ids"]
    for fact_id in meta["fact_ids"]:
        assert set(fact_base.fact(fact_id).values("activity")) & related
    assert SOURCES_LINE.search(answer[-1])
    assert buttons_of(dispatcher)[0] == {
        "title": "Ask the clinic team",
        "payload": "/request_human",
    }
    assert slot_events(events) == {"topic": "aftercare"}


async def test_uncovered_qualifier_found_in_text_only(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(fact_base, "ask_aftercare", "can i swim in the pool the day after?")

    assert texts(dispatcher)[0].startswith("The articles don't cover swimming specifically")


async def test_uncovered_ingredient_follow_up(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(
        fact_base, "ask_what_about", "and hyaluronic acid?",
        [entity("ingredient", "hyaluronic_acid")], topic="ingredients",
    )  # fmt: skip

    assert texts(dispatcher)[0].startswith("The articles don't cover hyaluronic acid specifically")
    assert "/request_human" in [b["payload"] for b in buttons_of(dispatcher)]


async def test_unknown_topic_is_never_silent(fact_base: FactBase) -> None:
    dispatcher, events = await ask(fact_base, "ask_teleportation")

    assert responses(dispatcher) == ["utter_no_facts"]
    assert events == []


async def test_entity_of_the_asked_topic_kind_that_has_no_facts_here(fact_base: FactBase) -> None:
    # "does it hurt?" may carry side_effect=pain; the pain topic still answers.
    dispatcher, _ = await ask(
        fact_base, "ask_pain", "does it hurt", [entity("side_effect", "pain")]
    )

    assert answer_meta(dispatcher)["topic"] == "pain"


async def test_default_fact_base_comes_from_settings(
    facts_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESO_FACTS_DB_URL", facts_db_url)
    get_settings.cache_clear()
    try:
        dispatcher = CollectingDispatcher()
        await ActionAnswerQuestion().run(dispatcher, make_tracker(intent="ask_pain"), {})
    finally:
        get_settings.cache_clear()

    assert answer_meta(dispatcher)["topic"] == "pain"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (kind, value)
        for kind, values in ENTITY_VALUES.items()
        if kind != "condition"
        for value in values
    ],
)
async def test_every_entity_value_gets_a_cited_answer(
    fact_base: FactBase, kind: str, value: str
) -> None:
    dispatcher, events = await ask(
        fact_base, "ask_what_about", f"and {value}?", [entity(kind, value)]
    )

    answer = texts(dispatcher)
    assert answer, dispatcher.messages
    assert SOURCES_LINE.search(answer[-1])
    meta = answer_meta(dispatcher)
    entry = fact_base.vocabulary(kind)[value]
    covered = any(value in fact_base.fact(i).values(kind) for i in meta["fact_ids"])
    assert covered is entry.has_facts
    if covered:
        assert {fact_base.fact(i).topic for i in meta["fact_ids"]} == {meta["topic"]}
    else:
        assert answer[0].startswith("The articles don't cover"), (value, answer[0])
    assert slot_events(events) == {"topic": meta["topic"]}


async def test_first_answer_without_greeting_carries_the_disclaimer(fact_base: FactBase) -> None:
    # REST and WhatsApp conversations start with a question, not the widget's greeting.
    dispatcher, events = await ask(fact_base, "ask_number_of_sessions", greeted=False)

    assert dispatcher.messages[0].get("response") == "utter_intro_disclaimer"
    assert responses(dispatcher) == ["utter_intro_disclaimer"]
    assert {"event": "slot", "name": "disclaimer_shown", "value": True} in [
        {k: e[k] for k in ("event", "name", "value")} for e in events if e["event"] == "slot"
    ]


async def test_intro_disclaimer_replaces_the_medical_reminder(fact_base: FactBase) -> None:
    dispatcher, _ = await ask(fact_base, "ask_side_effects", greeted=False)

    assert responses(dispatcher) == ["utter_intro_disclaimer"]


# -- fact-level answering from the fact ranker's parse data -------------------------


async def ask_ranked(
    fact_base: FactBase,
    intent: str,
    text: str,
    ranking: list[tuple[str, float]],
    parts: list[dict[str, Any]] | None = None,
    entities: list[dict[str, Any]] | None = None,
    topic: str | None = None,
) -> CollectingDispatcher:
    tracker = make_tracker(
        intent=intent,
        text=text,
        entities=entities or [],
        slots={"disclaimer_shown": True, "topic": topic},
    )
    tracker.latest_message["fact_ranking"] = [
        {"id": fact_id, "intent": f"ask_{fact_id.split('.')[0]}", "score": score, "match": score}
        for fact_id, score in ranking
    ]
    if parts is not None:
        tracker.latest_message["question_parts"] = parts
    dispatcher = CollectingDispatcher()
    await ActionAnswerQuestion(fact_base).run(dispatcher, tracker, {})
    return dispatcher


async def test_the_ranked_fact_is_sent_not_the_topics_first(fact_base: FactBase) -> None:
    dispatcher = await ask_ranked(
        fact_base,
        "ask_what_is",
        "what is the aim of it",
        [("what_is.aim", 0.7), ("what_is.definition", 0.2)],
    )
    meta = answer_meta(dispatcher)
    assert meta["fact_ids"] == ["what_is.aim"]
    assert meta["covered"] is True
    assert meta["scores"] == {"what_is.aim": 0.7}


async def test_a_close_second_fact_joins_the_answer(fact_base: FactBase) -> None:
    dispatcher = await ask_ranked(
        fact_base,
        "ask_pain",
        "does it hurt",
        [("pain.mostly_painless", 0.5), ("pain.anaesthetic", 0.4), ("pain.managing", 0.1)],
    )
    assert answer_meta(dispatcher)["fact_ids"] == ["pain.mostly_painless", "pain.anaesthetic"]


async def test_the_best_fact_decides_the_topic_over_the_intent(fact_base: FactBase) -> None:
    dispatcher = await ask_ranked(
        fact_base,
        "ask_aftercare",
        "how many sessions will i need",
        [("number_of_sessions.minimum_ten", 0.8), ("aftercare.sauna_avoid", 0.1)],
    )
    meta = answer_meta(dispatcher)
    assert meta["topic"] == "number_of_sessions"
    assert meta["fact_ids"] == ["number_of_sessions.minimum_ten"]


async def test_below_the_threshold_the_articles_dont_cover_it(fact_base: FactBase) -> None:
    dispatcher = await ask_ranked(
        fact_base,
        "ask_ingredients",
        "is the cocktail vegan",
        [("ingredients.quality", 0.03), ("ingredients.personalised_cocktail", 0.02)],
    )
    assert responses(dispatcher) == ["utter_no_facts"]
    assert customs(dispatcher) == []


async def test_a_second_question_is_answered_too(fact_base: FactBase) -> None:
    dispatcher = await ask_ranked(
        fact_base,
        "ask_number_of_sessions",
        "how many sessions and does it hurt",
        [("number_of_sessions.minimum_ten", 0.9)],
        parts=[
            {"text": "how many sessions", "fact_ranking": []},
            {
                "text": "does it hurt",
                "fact_ranking": [{"id": "pain.mostly_painless", "score": 0.8, "match": 0.8}],
            },
        ],
    )
    assert answer_meta(dispatcher)["fact_ids"] == [
        "number_of_sessions.minimum_ten",
        "pain.mostly_painless",
    ]


async def test_a_named_uncovered_value_still_says_the_articles_dont_cover_it(
    fact_base: FactBase,
) -> None:
    swimming = [e for e in fact_base.vocabulary("activity").values() if not e.has_facts]
    assert swimming, "the vocabulary names activities the articles don't cover"
    value = swimming[0].value
    dispatcher = await ask_ranked(
        fact_base,
        "ask_aftercare",
        f"is {value} ok after",
        [("aftercare.sauna_avoid", 0.6)],
        entities=[entity("activity", value)],
    )
    meta = answer_meta(dispatcher)
    assert meta["covered"] is False
    assert "don't cover" in texts(dispatcher)[0]


async def test_unknown_ranked_ids_are_ignored(fact_base: FactBase) -> None:
    dispatcher = await ask_ranked(
        fact_base, "ask_pain", "does it hurt", [("pain.no_such_fact", 0.9)]
    )
    # No usable ranking: the topic's facts, as for a button.
    assert answer_meta(dispatcher)["fact_ids"][0].startswith("pain.")


def part(text: str, fact_id: str, score: float) -> dict[str, Any]:
    return {"text": text, "fact_ranking": [{"id": fact_id, "score": score, "match": score}]}


async def test_two_questions_are_answered_in_the_order_asked(fact_base: FactBase) -> None:
    # The whole message ranks the second question's fact first; the parts keep the order.
    dispatcher = await ask_ranked(
        fact_base,
        "ask_aftercare",
        "how long does a session take and when can i wash my hair after?",
        [("aftercare.hair_washing_wait", 0.4), ("session_duration.length", 0.06)],
        parts=[
            part("how long does a session take", "session_duration.length", 0.7),
            part("when can i wash my hair after", "aftercare.hair_washing_wait", 0.8),
        ],
    )
    assert answer_meta(dispatcher)["fact_ids"] == [
        "session_duration.length",
        "aftercare.hair_washing_wait",
    ]


async def test_a_short_message_leans_on_the_previous_topic(fact_base: FactBase) -> None:
    ranking = [("session_duration.length", 0.09), ("side_effects.common_mild", 0.06)]
    after_side_effects = await ask_ranked(
        fact_base, "ask_side_effects", "how long do they last", ranking, topic="side_effects"
    )
    assert answer_meta(after_side_effects)["fact_ids"][0] == "side_effects.common_mild"
    fresh = await ask_ranked(fact_base, "ask_side_effects", "how long do they last", ranking)
    assert answer_meta(fresh)["fact_ids"][0] == "session_duration.length"


async def test_a_clear_topic_whose_facts_split_the_vote_is_answered(fact_base: FactBase) -> None:
    dispatcher = await ask_ranked(
        fact_base,
        "ask_safety",
        "any danger in doing this",
        [
            ("safety.reputable_clinic", 0.06),
            ("safety.known_risks", 0.055),
            ("safety.trained_professional", 0.05),
        ],
    )
    meta = answer_meta(dispatcher)
    assert meta["covered"] is True
    assert "safety.reputable_clinic" in meta["fact_ids"]


async def test_an_uncovered_class_above_every_fact_says_the_articles_dont_cover_it(
    fact_base: FactBase,
) -> None:
    # "can i fly the day after": the ranker's uncovered.aftercare outranks the closest fact.
    tracker = make_tracker(
        intent="ask_aftercare", text="can i fly the day after", slots={"disclaimer_shown": True}
    )
    tracker.latest_message["fact_ranking"] = [
        {"id": "uncovered.aftercare", "intent": "ask_aftercare", "score": 0.5, "match": 0.5},
        {"id": "aftercare.normal_activities", "intent": "ask_aftercare", "score": 0.3},
    ]
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerQuestion(fact_base).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_no_facts"]
    assert customs(dispatcher) == []
    # The topic stays, so "what about the sauna?" next is an aftercare question.
    assert slot_events(events) == {"topic": "aftercare"}


async def test_an_uncovered_class_below_the_best_fact_changes_nothing(
    fact_base: FactBase,
) -> None:
    dispatcher = await ask_ranked(
        fact_base,
        "ask_aftercare",
        "can i fly to the sauna",
        [("aftercare.sauna_avoid", 0.5), ("uncovered.aftercare", 0.3)],
    )
    meta = answer_meta(dispatcher)
    assert meta["fact_ids"] == ["aftercare.sauna_avoid"]
    assert meta["covered"] is True
    assert "uncovered.aftercare" not in meta["scores"]


async def test_a_named_qualifier_can_lift_a_fact_above_the_uncovered_class(
    fact_base: FactBase,
) -> None:
    # The patient named the sauna: its fact is boosted over a slightly higher uncovered class.
    dispatcher = await ask_ranked(
        fact_base,
        "ask_aftercare",
        "steam room and a long flight after?",
        [("uncovered.aftercare", 0.4), ("aftercare.sauna_avoid", 0.3)],
        entities=[entity("activity", "sauna")],
    )
    assert answer_meta(dispatcher)["fact_ids"][0] == "aftercare.sauna_avoid"
