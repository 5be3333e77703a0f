"""Any row Rasa (or a bug, or an attacker posting odd JSON) stores in `events` must not
take the staff app down: the row is skipped or shown, logged once, and pages render."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from bot.db import engine_for
from bot.staff.conversations import build_transcript, load_events
from bot.staff.store import ConversationStore
from tests.staff.tracker_builder import SQLEvent

# (type_name, data, timestamp, intent_name): shapes seen from hostile REST bodies and
# from stores edited by hand.
ANSWER_META = {"kind": "answer_meta", "fact_ids": 5, "sources": "s"}
BAD_ROWS = [
    ("user", {"event": "user", "text": "hi", "input_channel": {"x": 1}}, 1.0, None),
    ("user", {"text": ["a"], "input_channel": ["rest"], "parse_data": []}, 2.0, None),
    ("user", {"text": "x", "parse_data": {"intent": {"name": {"n": 1}}}}, 3.0, None),
    ("user", {"parse_data": {"intent": [], "entities": "e", "intent_ranking": {}}}, 4.0, None),
    ("user", {"parse_data": {"intent_ranking": [{"name": ["x"], "confidence": "hi"}]}}, 5, None),
    ("bot", {"text": {"t": 1}, "data": {"buttons": "b", "custom": ANSWER_META}}, 6.0, None),
    ("action", {"name": ["a"], "policy": 7, "confidence": "x"}, 7.0, None),
    ("slot", {"name": {"n": 1}, "value": {"v": [1]}}, 8.0, None),
    ("active_loop", {"name": 3}, 9.0, None),
    ("user", "[1, 2]", 10.0, None),
    ("user", "{not json", 11.0, None),
    ("bot", {"text": "nan time"}, float("nan"), None),
]


def _insert_bad_rows(engine: sa.engine.Engine, sender: str) -> None:
    with engine.begin() as conn:
        for kind, data, timestamp, intent in BAD_ROWS:
            conn.execute(
                SQLEvent.__table__.insert().values(
                    sender_id=sender,
                    type_name=kind,
                    timestamp=timestamp,
                    intent_name=intent,
                    data=data if isinstance(data, str) else json.dumps(data),
                )
            )


@pytest.fixture
def bad(tracker, sample) -> str:  # type: ignore[no-untyped-def]
    conversation = tracker.conversation("bad-rows")
    conversation.session_start()
    conversation.user("a normal question", "ask_pain")
    _insert_bad_rows(tracker.engine, "bad-rows")
    conversation.user("and another", "ask_pain")
    return "bad-rows"


def test_index_tolerates_every_bad_row(config, bad, caplog) -> None:  # type: ignore[no-untyped-def]
    index = ConversationStore(
        engine_for(config.app_db_url), sa.create_engine(config.tracker_db_url), config.secret_key
    )
    with caplog.at_level(logging.WARNING, logger="bot.staff.store"):
        index.refresh()
        index.refresh()  # the same bad rows again: no new warnings
    summary = index.get(bad)
    assert summary is not None
    texts = [m.text for m in index.messages(bad)]
    assert "a normal question" in texts and "and another" in texts
    assert all(isinstance(channel, str) for channel in summary.channels)
    assert all(isinstance(intent, str) for intent in summary.intents)
    assert len({r.message for r in caplog.records}) == len(caplog.records)  # logged once


def test_transcript_of_bad_rows_renders(config, bad) -> None:  # type: ignore[no-untyped-def]
    turns = build_transcript(load_events(sa.create_engine(config.tracker_db_url), bad))
    assert any(t.user and t.user.text == "and another" for t in turns)


@pytest.mark.parametrize(
    "path",
    ["/", "/conversations", "/conversations.json", "/conversations.csv", "/nlu", "/handoffs"],
)
def test_pages_survive_bad_rows(admin, bad, path: str) -> None:  # type: ignore[no-untyped-def]
    assert admin.client.get(path).status_code == 200


def test_transcript_page_survives_bad_rows(admin, bad) -> None:  # type: ignore[no-untyped-def]
    rows = admin.client.get("/conversations.json").json()["rows"]
    (row,) = [r for r in rows if r["sender_id"] == bad]
    response = admin.client.get(row["url"])
    assert response.status_code == 200 and "and another" in response.text
