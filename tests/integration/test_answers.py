"""Every fact-base topic answered through the real Rasa server and action server."""

from __future__ import annotations

import pytest

from bot.facts.query import FactBase
from tests.integration.helpers import starts_with_response
from tests.stack import Stack, custom_payloads, dump, texts

pytestmark = pytest.mark.integration

# One plain patient question per fact-base topic.
QUESTION_PER_TOPIC = {
    "what_is": "what is mesotherapy for hair?",
    "origin": "who invented mesotherapy and when?",
    "how_it_works": "how does mesotherapy actually work on the hair follicles?",
    "ingredients": "what is in the injections?",
    "procedure": "what happens during the procedure, step by step?",
    "pain": "does it hurt?",
    "session_duration": "how long does one session take?",
    "number_of_sessions": "how many sessions do I need?",
    "course_schedule": "how often do I need to come for sessions?",
    "repeat_course": "when should I repeat the course?",
    "results_timeline": "when will I see results?",
    "effectiveness": "does mesotherapy really work?",
    "candidates": "who is mesotherapy suitable for?",
    "hair_loss_causes": "what causes hair loss?",
    "side_effects": "what are the side effects?",
    "safety": "is mesotherapy safe?",
    "contraindications": "who should not have mesotherapy?",
    "preparation": "how should I prepare before my session?",
    "aftercare": "what should I avoid after the treatment?",
    "scalp_health": "can it help with dandruff and an itchy scalp?",
    "comparison": "is mesotherapy better than PRP?",
    "other_uses": "what else is mesotherapy used for besides hair?",
}


@pytest.fixture(scope="module")
def fact_base(stack: Stack) -> FactBase:
    from bot.db import make_engine

    return FactBase(make_engine(stack.facts_db_url))


def answer_meta(messages: list[dict]) -> dict:
    metas = [p for p in custom_payloads(messages) if p.get("kind") == "answer_meta"]
    assert metas, f"no answer_meta payload in:\n{dump(messages)}"
    return metas[-1]


def test_every_topic_has_a_question(fact_base: FactBase) -> None:
    assert set(QUESTION_PER_TOPIC) == set(fact_base.topics())


@pytest.mark.parametrize("topic", sorted(QUESTION_PER_TOPIC))
def test_topic_answered_with_its_fact_and_citation(
    stack: Stack, fact_base: FactBase, topic: str
) -> None:
    messages = stack.send(QUESTION_PER_TOPIC[topic])
    meta = answer_meta(messages)
    assert meta["topic"] == topic, dump(messages)
    reply = texts(messages)
    topic_facts = {fact.id: fact for fact in fact_base.facts_for(topic)}
    assert meta["fact_ids"] and set(meta["fact_ids"]) <= set(topic_facts), dump(messages)
    cited_sources = {
        citation.source.id for fid in meta["fact_ids"] for citation in topic_facts[fid].citations
    }
    assert {s["id"] for s in meta["sources"]} == cited_sources
    assert "Sources:" in reply
    for source in meta["sources"]:
        assert source["title"] in reply, f"citation of {source['id']} missing:\n{reply}"


def test_number_of_sessions_answer_has_the_articles_numbers(stack: Stack) -> None:
    reply = texts(stack.send("how many sessions do I need?"))
    assert "10" in reply


def test_disagreement_shows_both_values_and_who_says_what(stack: Stack) -> None:
    reply = texts(stack.send("when can I wash my hair after the session?"))
    assert "24 hours" in reply
    assert "2" in reply and "3 days" in reply
    assert "Mesotherapy for Hair: Procedure, Results, and Side Effects" in reply
    assert "Mesotherapy for hair loss" in reply


def test_follow_up_uses_previous_topic(stack: Stack) -> None:
    sender = "follow-up-sessions"
    first = answer_meta(stack.send("how many sessions do I need?", sender))
    assert first["topic"] == "number_of_sessions"
    follow_up = stack.send("and how long is each one?", sender)
    assert answer_meta(follow_up)["topic"] == "session_duration", dump(follow_up)


def test_what_about_keeps_the_aftercare_topic(stack: Stack) -> None:
    sender = "follow-up-sauna"
    sauna = stack.send("can I go to the sauna after my session?", sender)
    assert answer_meta(sauna)["topic"] == "aftercare"
    gym = stack.send("what about the gym?", sender)
    meta = answer_meta(gym)
    assert meta["topic"] == "aftercare", dump(gym)
    assert any("exercise" in fid for fid in meta["fact_ids"]), dump(gym)


def test_uncovered_activity_is_admitted_with_related_facts_and_staff(stack: Stack) -> None:
    messages = stack.send("can I go swimming after?")
    reply = texts(messages).lower()
    assert "don't cover swimming" in reply or "do not cover swimming" in reply, dump(messages)
    buttons = [b for m in messages for b in m.get("buttons", [])]
    assert any(b["payload"] == "/request_human" for b in buttons), dump(messages)


def test_quick_replies_trigger_answers(stack: Stack) -> None:
    sender = "quick-replies"
    stack.send("/session_start", sender)  # the greeting has buttons of its own
    messages = stack.send("what are the side effects?", sender)
    buttons = [b for m in messages for b in m.get("buttons", [])]
    assert 2 <= len(buttons) <= 3, dump(messages)
    for button in buttons:
        follow = stack.send(button["payload"], sender)
        meta = answer_meta(follow)
        assert button["payload"].split("{")[0] == f"/ask_{meta['topic']}", dump(follow)


def test_widget_session_start_greets_once_with_disclaimer(stack: Stack) -> None:
    messages = stack.send("/session_start", "greeting-check")
    assert len(messages) == 1 and starts_with_response(
        messages[0]["text"], "utter_greet_disclaimer"
    )
    assert "personal medical advice" in messages[0]["text"]
    assert stack.send("/session_start", "greeting-check") == []  # a reconnect doesn't repeat it


def test_conversation_starting_with_a_question_gets_the_disclaimer_once(stack: Stack) -> None:
    sender = "rest-first-question"
    first = stack.send("how many sessions do I need?", sender)
    assert starts_with_response(first[0]["text"], "utter_intro_disclaimer"), dump(first)
    second = stack.send("does it hurt?", sender)
    assert not any(
        starts_with_response(m.get("text", ""), "utter_intro_disclaimer") for m in second
    )


def test_medical_topics_add_a_short_reminder(stack: Stack) -> None:
    sender = "reminder-check"
    stack.send("/session_start", sender)
    messages = stack.send("what are the side effects?", sender)
    assert starts_with_response(messages[0]["text"], "utter_medical_reminder"), dump(messages)
    assert not any(
        starts_with_response(m.get("text", ""), "utter_greet_disclaimer") for m in messages
    )
