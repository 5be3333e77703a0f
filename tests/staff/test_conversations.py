"""The conversation store fed from Rasa's events table, and transcripts read from it."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa

from bot.db import engine_for
from bot.staff.conversations import build_transcript, load_events
from bot.staff.events import tracker_engine
from bot.staff.store import ConversationStore
from tests.staff.tracker_builder import SQLEvent, TrackerWriter

SECRET = "index-secret"


def make_index(config) -> ConversationStore:  # type: ignore[no-untyped-def]
    # check_seconds=0: look for rows deleted behind the store's back on every refresh.
    return ConversationStore(
        engine_for(config.app_db_url), tracker_engine(config.tracker_db_url), SECRET, 0
    )


def test_no_events_table_means_no_conversations(config) -> None:
    index = make_index(config)
    index.refresh()
    assert index.conversations() == []


def test_summaries(config, sample) -> None:
    index = make_index(config)
    index.refresh()
    by_id = {c.sender_id: c for c in index.conversations()}
    assert set(by_id) == {"web-good", "web-fallback", "447700900123"}
    good = by_id["web-good"]
    assert good.channels == {"rest"}
    assert good.user_message_count == 2
    assert set(good.intents) == {"ask_number_of_sessions", "ask_aftercare"}
    assert good.min_confidence == 0.45
    assert not good.fallback
    assert by_id["web-fallback"].fallback
    urgent = by_id["447700900123"]
    assert urgent.urgent_intent and urgent.channels == {"whatsapp"}
    # The phone number typed into the handoff form is marked as a form answer.
    assert [m.in_form for m in index.messages("447700900123")] == [False, True]


def test_index_is_incremental_and_notices_deletions(config, tracker: TrackerWriter) -> None:
    index = make_index(config)
    first = tracker.conversation("a")
    first.user("hello", "greet")
    index.refresh()
    assert [c.sender_id for c in index.conversations()] == ["a"]

    second = tracker.conversation("b")
    second.user("hi", "greet")
    first.user("what is it?", "ask_what_is")
    index.refresh()
    assert {c.sender_id: c.user_message_count for c in index.conversations()} == {"a": 2, "b": 1}

    with tracker.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM events WHERE sender_id = 'a'"))
    index.refresh()
    assert [c.sender_id for c in index.conversations()] == ["b"]


def test_conversations_without_patient_messages_are_hidden(config, tracker) -> None:
    tracker.conversation("opened-widget-only").session_start()
    index = make_index(config)
    index.refresh()
    assert index.conversations() == []


def test_refs_resolve_to_sender_ids(config, sample) -> None:
    index = make_index(config)
    index.refresh()
    summary = index.get("447700900123")
    assert summary is not None and summary.ref.startswith("~")
    assert index.resolve(summary.ref) == "447700900123"
    assert index.resolve("web-good") == "web-good"
    assert index.resolve("~0000000000000000") is None


def test_transcript_turns(config, sample) -> None:
    turns = build_transcript(load_events(tracker_engine(config.tracker_db_url), "web-good"))
    users = [t.user for t in turns if t.user]
    assert [u.intent for u in users] == ["ask_number_of_sessions", "ask_aftercare"]
    assert users[1].entities[0]["value"] == "sauna"
    assert users[1].ranking[1] == ("ask_what_about", 0.3)
    assert users[1].channel == "rest"
    answer_turn = turns[[t.user for t in turns].index(users[0])]
    [reply] = answer_turn.replies
    # The answer_meta custom message is shown under the answer it belongs to.
    assert reply.answer is not None
    assert reply.answer.topic == "number_of_sessions"
    assert reply.answer.fact_ids == ["number_of_sessions.minimum_ten"]
    assert reply.answer.sources[0]["title"] == "What is mesotherapy?"
    assert reply.buttons[0]["payload"] == "/ask_pain"
    actions = [e.name for e in answer_turn.events if e.kind == "action"]
    assert actions == ["action_answer"]  # action_listen is noise
    assert any(t.new_session for t in turns)


def test_transcript_page_shows_facts_sources_and_actions(reviewer, sample) -> None:
    page = reviewer.client.get("/conversations/web-good").text
    for expected in (
        "how many sessions do I need?",
        "ask_number_of_sessions",
        "0.97",
        "activity=sauna",
        "number_of_sessions.minimum_ten",
        "What is mesotherapy?",
        "action_answer",
        "Does it hurt?",
    ):
        assert expected in page, expected


def test_transcript_json_twin(reviewer, sample) -> None:
    data = reviewer.client.get("/conversations/web-good.json").json()
    assert data["sender_id"] == "web-good"
    users = [t["user"] for t in data["turns"] if t["user"]]
    assert users[0]["intent"] == "ask_number_of_sessions"
    replies = [e for t in data["turns"] for e in t["events"] if e["kind"] == "bot"]
    assert replies[0]["answer"]["fact_ids"] == ["number_of_sessions.minimum_ten"]


def test_missing_conversation_is_404(viewer, sample) -> None:
    assert viewer.client.get("/conversations/no-such-sender").status_code == 404


def test_store_reads_only_new_rows_in_batches(config, tracker: TrackerWriter) -> None:
    now = time.time()
    rows = [
        {
            "sender_id": f"s{n % 400}",
            "type_name": "user",
            "timestamp": now + n,
            "intent_name": "greet",
            "action_name": None,
            "data": json.dumps(
                {
                    "event": "user",
                    "text": f"message {n}",
                    "parse_data": {"intent": {"name": "greet", "confidence": 0.9}},
                    "input_channel": "rest",
                }
            ),
        }
        for n in range(2000)
    ]
    with tracker.engine.begin() as conn:
        conn.execute(SQLEvent.__table__.insert(), rows)
    index = ConversationStore(
        engine_for(config.app_db_url), tracker_engine(config.tracker_db_url), SECRET, batch=300
    )
    assert index.refresh() == 300  # a request reads one batch at most
    assert index.refresh(max_batches=None) == 1700  # the background feed catches up
    assert len(index.conversations()) == 400
    assert sum(c.user_message_count for c in index.conversations()) == 2000
    assert index.refresh() == 0  # nothing new: nothing read again


def test_transcript_shows_the_ranked_facts_and_their_scores(reviewer, tracker) -> None:
    conversation = tracker.conversation("web-ranked")
    conversation.session_start()
    conversation.user(
        "what is the point of the injections",
        "ask_what_is",
        0.8,
        fact_ranking=[("what_is.aim", 0.62), ("what_is.definition", 0.21)],
    )
    page = reviewer.client.get("/conversations/web-ranked").text
    assert "facts ranked" in page
    assert "what_is.aim 0.62" in page
    assert "what_is.definition 0.21" in page
