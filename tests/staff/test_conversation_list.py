"""The conversation list: every filter, facets, pagination, URL state, .json/.csv twins."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.db import engine_for, session_scope
from bot.staff.filters import ConversationFilter
from bot.staff.models import AuditEntry
from tests.staff.conftest import Staff


def senders(staff: Staff, query: str = "") -> set[str]:
    data = staff.client.get("/conversations.json" + query).json()
    return {row["sender_id"] for row in data["rows"]}


ALL = {"web-good", "web-fallback", "447700900123"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ALL),
        ("?channel=socketio", {"web-fallback"}),
        ("?intent=ask_aftercare", {"web-good"}),
        ("?fallback=yes", {"web-fallback"}),
        ("?fallback=no", {"web-good", "447700900123"}),
        ("?handoff=urgent", {"447700900123"}),
        ("?handoff=requested", {"web-fallback"}),
        ("?handoff=any", {"447700900123", "web-fallback"}),
        ("?handoff=none", {"web-good"}),
        ("?min_conf=0.4&max_conf=0.46", {"web-good"}),
        ("?max_conf=0.35", {"447700900123"}),
        ("?min_conf=0.99", set()),
        ("?q=SAUNA", {"web-good"}),
        ("?q=didn%27t+get+that", {"web-fallback"}),  # bot replies are searched too
        ("?reviewed=no", ALL),
        ("?reviewed=yes", set()),
        ("?action=action_default_fallback", {"web-fallback"}),
        ("?channel=rest&intent=ask_aftercare&fallback=no", {"web-good"}),
    ],
)
def test_filters(reviewer: Staff, sample, query: str, expected: set[str]) -> None:
    assert senders(reviewer, query) == expected


def test_date_range(reviewer: Staff, tracker, sample) -> None:
    old = tracker.conversation("web-old", start=time.time() - 10 * 86400)
    old.user("hello from last week", "greet")
    today = datetime.now(timezone.utc).date()
    week_ago = (today - timedelta(days=10)).isoformat()
    assert senders(reviewer, f"?date_to={week_ago}") == {"web-old"}
    assert "web-old" not in senders(reviewer, f"?date_from={today.isoformat()}")


def test_tag_filter_and_facets(reviewer: Staff, sample) -> None:
    reviewer.post("/conversations/web-good/tags", {"tag": "good-answer"})
    assert senders(reviewer, "?tag=good-answer") == {"web-good"}
    facets = reviewer.client.get("/conversations.json").json()["facets"]
    assert facets["tag"] == {"good-answer": 1}
    assert facets["channel"] == {"rest": 1, "socketio": 1, "whatsapp": 1}
    assert facets["fallback"] == {"yes": 1, "no": 2}
    assert facets["handoff"] == {"urgent": 1, "requested": 1, "none": 1}
    assert facets["reviewed"] == {"no": 3}


def test_facet_links_keep_the_other_filters(reviewer: Staff, sample) -> None:
    page = reviewer.client.get("/conversations?fallback=no").text
    assert 'href="?fallback=no&amp;channel=rest"' in page or "channel=rest&amp;fallback=no" in page


def test_bad_filter_values_are_reported_not_fatal(reviewer: Staff, sample) -> None:
    response = reviewer.client.get("/conversations?min_conf=high&date_from=yesterday")
    assert response.status_code == 200
    assert "min_conf: expected a number" in response.text
    assert "date_from: expected a date" in response.text


def test_pagination(reviewer: Staff, sample) -> None:
    first = reviewer.client.get("/conversations.json?size=2").json()
    assert first["pages"] == 2 and len(first["rows"]) == 2
    assert first["next"] == "/conversations.json?page=2&size=2"
    second = reviewer.client.get(first["next"]).json()
    assert len(second["rows"]) == 1 and second["next"] is None
    names = [r["sender_id"] for r in first["rows"] + second["rows"]]
    assert len(set(names)) == 3
    page = reviewer.client.get("/conversations?size=2").text
    assert "page 1 of 2" in page and 'href="?page=2&amp;size=2"' in page


def test_filter_url_round_trip() -> None:
    params = {"q": "sauna", "channel": "rest", "min_conf": "0.2", "fallback": "yes", "page": "3"}
    flt, errors = ConversationFilter.from_params(params)
    assert errors == []
    again, _ = ConversationFilter.from_params(dict(flt.params()))
    assert again == flt
    assert flt.query(channel="") == "?q=sauna&min_conf=0.2&fallback=yes"  # a filter resets page


def test_html_json_and_csv_agree(reviewer: Staff, sample, config) -> None:
    html = reviewer.client.get("/conversations?fallback=no").text
    rows = reviewer.client.get("/conversations.json?fallback=no").json()["rows"]
    response = reviewer.client.get("/conversations.csv?fallback=no")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["sender_id"] for r in table} == {r["sender_id"] for r in rows}
    for row in rows:
        assert row["sender_id"] in html
    with session_scope(engine_for(config.app_db_url)) as session:
        details = list(
            session.execute(
                sa.select(AuditEntry.detail).where(AuditEntry.action == "export_conversations")
            ).scalars()
        )
    assert any('"csv"' in d and '"fallback": "no"' in d for d in details)
    assert any('"json"' in d for d in details)


def test_csv_cells_cannot_become_formulas(reviewer: Staff, tracker) -> None:
    tracker.conversation("web-formula").user('=HYPERLINK("http://evil")', "greet")
    table = list(csv.DictReader(io.StringIO(reviewer.client.get("/conversations.csv").text)))
    [row] = [r for r in table if r["sender_id"] == "web-formula"]
    assert row["first_message"].startswith("'=")
