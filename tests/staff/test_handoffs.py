"""Handoff queue: order, status changes with who/when, contacts by role, exports, audit."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import sqlalchemy as sa

from bot.db import engine_for, session_scope
from bot.handoff import HandoffRequest, utcnow
from bot.staff.models import AuditEntry
from tests.staff.conftest import Staff


def test_queue_order_urgent_first_then_oldest(reviewer: Staff, handoffs, config) -> None:
    old_normal = handoffs.create(sender_id="a", reason="fallback")
    new_urgent = handoffs.create(sender_id="b", reason="urgent", urgency="urgent")
    newer_normal = handoffs.create(sender_id="c", reason="personal_medical")
    with session_scope(engine_for(config.app_db_url)) as session:
        session.get(HandoffRequest, old_normal.id).created_at = utcnow() - timedelta(hours=5)
    rows = reviewer.client.get("/handoffs.json").json()["rows"]
    assert [r["reference"] for r in rows] == [
        new_urgent.reference,
        old_normal.reference,
        newer_normal.reference,
    ]


def test_status_flow_records_who_and_when(reviewer: Staff, sample, config) -> None:
    request = sample["normal_request"]
    response = reviewer.post(f"/handoffs/{request.id}/status", {"status": "contacted"})
    assert response.status_code == 303
    with session_scope(engine_for(config.app_db_url)) as session:
        row = session.get(HandoffRequest, request.id)
        assert (row.status, row.status_changed_by) == ("contacted", "reviewer")
        assert utcnow() - row.status_changed_at < timedelta(minutes=1)
    active = reviewer.client.get("/handoffs").text
    assert request.reference in active and "Close" in active

    reviewer.post(f"/handoffs/{request.id}/status", {"status": "closed"})
    assert request.reference not in reviewer.client.get("/handoffs").text
    assert request.reference in reviewer.client.get("/handoffs?status=closed").text

    with session_scope(engine_for(config.app_db_url)) as session:
        details = list(
            session.execute(
                sa.select(AuditEntry.detail).where(AuditEntry.action == "handoff_status")
            ).scalars()
        )
    assert ['"from": "open"' in d and '"to": "contacted"' in d for d in details] == [True, False]


def test_invalid_transitions_are_refused(reviewer: Staff, sample, config) -> None:
    request = sample["normal_request"]
    response = reviewer.post(f"/handoffs/{request.id}/status", {"status": "open"})
    assert "error=bad_status" in response.headers["location"]
    response = reviewer.post(f"/handoffs/{request.id}/status", {"status": "deleted"})
    assert "error=bad_status" in response.headers["location"]
    assert reviewer.post("/handoffs/99999/status", {"status": "closed"}).status_code == 404


def test_csv_export_with_contacts_for_reviewers(reviewer: Staff, sample, config) -> None:
    response = reviewer.client.get("/handoffs.csv?status=all")
    table = list(csv.DictReader(io.StringIO(response.text)))
    urgent = next(r for r in table if r["reference"] == sample["urgent_request"].reference)
    assert urgent["contact_value"] == "'+44 7700 900123"  # formula-safe
    assert urgent["urgency"] == "urgent"
    assert table[0]["urgency"] == "urgent"
    with session_scope(engine_for(config.app_db_url)) as session:
        assert session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "export_handoffs")
        ).first()


def test_viewing_the_queue_is_audited(viewer: Staff, sample, config) -> None:
    viewer.client.get("/handoffs")
    with session_scope(engine_for(config.app_db_url)) as session:
        actors = list(
            session.execute(
                sa.select(AuditEntry.actor).where(AuditEntry.action == "view_handoffs")
            ).scalars()
        )
    assert actors == ["viewer"]
