"""Privacy: purge by age, delete by sender, the daily retention task, audit pseudonyms."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot import PROJECT_ROOT
from bot.db import engine_for, session_scope
from bot.handoff import HandoffRequest
from bot.staff import annotations
from bot.staff.conversations import conversation_ref
from bot.staff.events import tracker_engine
from bot.staff.models import (
    AuditEntry,
    ConversationNote,
    ConversationReview,
    ConversationTag,
    MessageFlag,
    NluCorrection,
)
from bot.staff.retention import delete_sender, parse_duration, purge_older_than

PER_SENDER = (
    ConversationReview,
    ConversationTag,
    ConversationNote,
    MessageFlag,
    NluCorrection,
    HandoffRequest,
)


def count(engine, model, sender_id: str) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return int(
            session.execute(
                sa.select(sa.func.count()).select_from(model).where(model.sender_id == sender_id)
            ).scalar_one()
        )


def annotate_everything(engine, sender_id: str, event_id: int) -> None:  # type: ignore[no-untyped-def]
    annotations.set_reviewed(engine, sender_id, True, "reviewer")
    annotations.add_tag(engine, sender_id, "check", "reviewer")
    annotations.add_note(engine, sender_id, "call back", "reviewer")
    annotations.set_flag(engine, sender_id, event_id, True, "why", "reviewer")
    with session_scope(engine) as session:
        session.add(
            NluCorrection(
                sender_id=sender_id,
                event_id=event_id,
                text="x",
                intent="greet",
                status="corrected",
                created_by="reviewer",
            )
        )


@pytest.mark.parametrize(
    ("text", "seconds"), [("90d", 90 * 86400), ("12h", 43200), ("30m", 1800), ("2w", 1209600)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "90", "0d", "-1d", "3y", "d90"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="90d"):
        parse_duration(text)


def test_delete_sender_removes_every_row(config, tracker, sample) -> None:
    app = engine_for(config.app_db_url)
    annotate_everything(app, "web-fallback", sample["fallback_id"])
    audit_before = AuditEntry(actor="reviewer", action="view_conversation", target="web-fallback")
    with session_scope(app) as session:
        session.add(audit_before)
    assert tracker.count("web-fallback") > 0

    report = delete_sender(
        app, tracker_engine(config.tracker_db_url), "web-fallback", config.secret_key, "cli"
    )

    assert tracker.count("web-fallback") == 0
    for model in PER_SENDER:
        assert count(app, model, "web-fallback") == 0, model.__tablename__
    assert tracker.count("web-good") > 0  # other conversations untouched
    assert count(app, HandoffRequest, "447700900123") == 1
    assert report.events > 0 and report.rows["handoff_requests"] == 1
    ref = conversation_ref(config.secret_key, "web-fallback")
    with session_scope(app) as session:
        targets = list(session.execute(sa.select(AuditEntry.target)).scalars())
        actions = list(session.execute(sa.select(AuditEntry.action)).scalars())
    assert "web-fallback" not in targets and ref in targets
    assert "delete_conversation" in actions


def test_purge_deletes_old_events_and_dependent_rows(config, tracker) -> None:
    app = engine_for(config.app_db_url)
    old = tracker.conversation("old-conv", start=time.time() - 100 * 86400)
    old_id = old.user("hello long ago", "greet")
    mixed = tracker.conversation("mixed", start=time.time() - 100 * 86400)
    mixed_old_id = mixed.user("first visit", "greet")
    mixed.clock = time.time() - 3600
    mixed_new_id = mixed.user("back again", "greet")
    fresh = tracker.conversation("fresh")
    fresh.user("hi", "greet")
    annotate_everything(app, "old-conv", old_id)
    annotate_everything(app, "mixed", mixed_old_id)
    annotations.set_flag(app, "mixed", mixed_new_id, True, "keep", "reviewer")

    report = purge_older_than(
        app, tracker_engine(config.tracker_db_url), timedelta(days=90), config.secret_key, "cli"
    )

    assert tracker.count("old-conv") == 0
    for model in (ConversationReview, ConversationTag, MessageFlag, NluCorrection):
        assert count(app, model, "old-conv") == 0
    assert tracker.count("mixed") == 1 and tracker.count("fresh") == 1
    # The ongoing conversation keeps its review and tag, loses what pointed at old messages.
    assert count(app, ConversationReview, "mixed") == 1
    assert count(app, ConversationTag, "mixed") == 1
    with session_scope(app) as session:
        flags = list(session.execute(sa.select(MessageFlag.event_id)).scalars())
    assert flags == [mixed_new_id]
    assert count(app, NluCorrection, "mixed") == 0
    assert report.conversations == 1 and report.events == 2


def test_purge_removes_old_closed_handoffs_but_keeps_open_ones(config, handoffs, tracker) -> None:
    app = engine_for(config.app_db_url)
    closed = handoffs.create(sender_id="done", reason="fallback")
    handoffs.set_status(closed.id, "closed", by="reviewer")
    waiting = handoffs.create(sender_id="waiting", reason="fallback")
    tracker.conversation("waiting", start=time.time() - 86400).user("call me", "request_human")
    with session_scope(app) as session:
        session.get(HandoffRequest, closed.id).status_changed_at -= timedelta(hours=13)
        session.get(HandoffRequest, waiting.id).created_at -= timedelta(hours=13)
    purge_older_than(
        app, tracker_engine(config.tracker_db_url), timedelta(hours=12), config.secret_key, "cli"
    )
    assert count(app, HandoffRequest, "done") == 0
    # The patient is still waiting for a call, even though their messages are gone.
    assert tracker.count("waiting") == 0
    assert count(app, HandoffRequest, "waiting") == 1


def test_retention_runs_when_the_app_starts(app_factory, tracker, config) -> None:
    tracker.conversation("ancient", start=time.time() - 400 * 86400).user("hi", "greet")
    tracker.conversation("recent").user("hi", "greet")
    app_factory(run_retention_task=True, retention_days=90)

    def purge_actors() -> list[str]:
        with session_scope(engine_for(config.app_db_url)) as session:
            query = sa.select(AuditEntry.actor).where(AuditEntry.action == "purge")
            return list(session.execute(query).scalars())

    deadline = time.time() + 15
    while not purge_actors() and time.time() < deadline:
        time.sleep(0.1)  # the purge runs in a background thread
    assert purge_actors() == ["system"]
    assert tracker.count("ancient") == 0 and tracker.count("recent") > 0


def run_cli(config, *args: str, stdin: str = "") -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    env = {
        "PATH": "/usr/bin:/bin",
        "MESO_APP_DB_URL": config.app_db_url,
        "MESO_TRACKER_DB_URL": config.tracker_db_url,
        "MESO_STAFF_SECRET_KEY": config.secret_key,
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_logs_cli_purge_and_delete(config, tracker, sample) -> None:
    tracker.conversation("stale", start=time.time() - 30 * 86400).user("old", "greet")
    result = run_cli(config, "logs", "purge", "--older-than", "7d")
    assert result.returncode == 0, result.stderr
    assert "deleted" in result.stdout and tracker.count("stale") == 0
    assert tracker.count("web-good") > 0

    result = run_cli(config, "logs", "delete", "--sender", "web-good")
    assert result.returncode == 0, result.stderr
    assert tracker.count("web-good") == 0

    result = run_cli(config, "logs", "delete", "--sender", "web-good")
    assert "nothing deleted" in result.stdout

    result = run_cli(config, "logs", "purge", "--older-than", "soon")
    assert result.returncode == 2 and "90d" in result.stderr
