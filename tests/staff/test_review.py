"""Reviewing a conversation: mark reviewed, tags, notes, message flags; all audited."""

from __future__ import annotations

import sqlalchemy as sa

from bot.db import engine_for, session_scope
from bot.staff.models import (
    AuditEntry,
    ConversationNote,
    ConversationReview,
    ConversationTag,
    MessageFlag,
)
from tests.staff.conftest import Staff


def audit_actions(config, target: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    with session_scope(engine_for(config.app_db_url)) as session:
        query = sa.select(AuditEntry.action).order_by(AuditEntry.id)
        if target is not None:
            query = query.where(AuditEntry.target == target)
        return list(session.execute(query).scalars())


def rows(config, model) -> list:  # type: ignore[no-untyped-def]
    with session_scope(engine_for(config.app_db_url)) as session:
        return list(session.execute(sa.select(model)).scalars())


def test_viewing_a_transcript_is_audited(viewer: Staff, config, sample) -> None:
    assert viewer.client.get("/conversations/web-good").status_code == 200
    assert "view_conversation" in audit_actions(config, "web-good")


def test_mark_reviewed_and_back(reviewer: Staff, config, sample) -> None:
    response = reviewer.post("/conversations/web-good/review", {"reviewed": "1"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/conversations/web-good?notice=reviewed")
    [review] = rows(config, ConversationReview)
    assert (review.sender_id, review.reviewed_by) == ("web-good", "reviewer")
    assert "Reviewed by reviewer" in reviewer.client.get("/conversations/web-good").text
    listing = reviewer.client.get("/conversations?reviewed=yes").text
    assert "web-good" in listing and "web-fallback" not in listing

    reviewer.post("/conversations/web-good/review", {"reviewed": "0"})
    assert rows(config, ConversationReview) == []
    actions = audit_actions(config, "web-good")
    assert actions.index("mark_reviewed") < actions.index("unmark_reviewed")


def test_tags(reviewer: Staff, config, sample) -> None:
    reviewer.post("/conversations/web-good/tags", {"tag": "Wrong Answer"})
    reviewer.post("/conversations/web-good/tags", {"tag": "wrong-answer"})  # duplicate
    assert [t.tag for t in rows(config, ConversationTag)] == ["wrong-answer"]
    listing = reviewer.client.get("/conversations?tag=wrong-answer").text
    assert "web-good" in listing and "web-fallback" not in listing
    bad = reviewer.post("/conversations/web-good/tags", {"tag": "<script>"})
    assert "error=bad_tag" in bad.headers["location"]
    reviewer.post("/conversations/web-good/tags/remove", {"tag": "wrong-answer"})
    assert rows(config, ConversationTag) == []
    assert {"add_tag", "remove_tag"} <= set(audit_actions(config, "web-good"))


def test_notes(reviewer: Staff, config, sample) -> None:
    reviewer.post("/conversations/web-good/notes", {"body": "Answer was right; patient left."})
    [note] = rows(config, ConversationNote)
    assert note.created_by == "reviewer"
    assert "Answer was right" in reviewer.client.get("/conversations/web-good").text
    empty = reviewer.post("/conversations/web-good/notes", {"body": "   "})
    assert "error=empty_note" in empty.headers["location"]
    assert "add_note" in audit_actions(config, "web-good")


def test_flag_a_message(reviewer: Staff, config, sample) -> None:
    event_id = sample["answer_id"]
    response = reviewer.post(
        "/conversations/web-good/flags",
        {"event_id": str(event_id), "flagged": "1", "reason": "cites the wrong source"},
    )
    assert response.headers["location"].endswith(f"#e{event_id}")
    [flag] = rows(config, MessageFlag)
    assert (flag.event_id, flag.reason) == (event_id, "cites the wrong source")
    page = reviewer.client.get("/conversations/web-good").text
    assert "cites the wrong source" in page
    reviewer.post("/conversations/web-good/flags", {"event_id": str(event_id), "flagged": "0"})
    assert rows(config, MessageFlag) == []
    assert {"flag_message", "unflag_message"} <= set(audit_actions(config, "web-good"))


def test_actions_on_unknown_conversations_are_404(reviewer: Staff, sample) -> None:
    response = reviewer.post("/conversations/nobody/review", {"reviewed": "1"})
    assert response.status_code == 404
