"""Small pieces: redaction, secret key file, domain reading, charts, dashboard, health."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

import pytest

from bot import PROJECT_ROOT
from bot.db import engine_for
from bot.staff import auth, charts
from bot.staff.config import load_or_create_secret
from bot.staff.dashboard import compute
from bot.staff.domain import load_domain
from bot.staff.events import tracker_engine
from bot.staff.redact import redact, redact_text
from bot.staff.store import ConversationStore


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+x@mail.example.co.uk now", "mail [email hidden] now"),
        ("call +44 20 7946 0958 today", "call [phone hidden] today"),
        ("call (020) 7946-0958", "call [phone hidden]"),
        ("my number is 07700900123", "my number is [phone hidden]"),
        ("I had 10 sessions in 2019", "I had 10 sessions in 2019"),
        ("booked for 2025-03-14", "booked for 2025-03-14"),
        ("wait 48 hours, then 2-3 days", "wait 48 hours, then 2-3 days"),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_redact_nested_structures() -> None:
    @dataclass
    class Item:
        text: str
        tags: list[str]
        number: int

    value = {"a": [Item("x@y.org", ["0123 456 7890"], 5)], "b": ("plain",)}
    assert redact(value) == {"a": [Item("[email hidden]", ["[phone hidden]"], 5)], "b": ("plain",)}


def test_secret_key_is_generated_once_with_private_mode(tmp_path) -> None:
    first = load_or_create_secret(tmp_path / "var")
    second = load_or_create_secret(tmp_path / "var")
    assert first == second and len(first) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "var" / "staff_secret.key").st_mode)
    assert mode == 0o600


def test_domain_lists_the_projects_intents() -> None:
    domain = load_domain(PROJECT_ROOT)
    assert "ask_pain" in domain.correctable_intents
    assert "nlu_fallback" not in domain.correctable_intents
    assert "activity" in domain.entities


def test_production_hasher_is_argon2id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # drop the fast test hasher
    hashed = auth.hash_password("some password here")
    assert hashed.startswith("$argon2id$")
    assert auth._hasher.time_cost >= 2 and auth._hasher.memory_cost >= 19 * 1024


def test_the_dummy_hash_costs_what_a_real_login_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # drop the fast test hasher
    assert not auth._hasher.check_needs_rehash(auth._DUMMY_HASH)  # same parameters
    assert not auth._verify(auth._DUMMY_HASH, "not-a-real-password")


def test_charts_are_inline_svg_with_escaped_labels() -> None:
    svg = charts.column_chart([("2025-01-01", 2), ("2025-01-02", 0)], "Per day")
    assert svg.startswith("<svg") and svg.count("<rect") == 2
    bars = charts.bar_list([("<script>", 3.0)], "Intents")
    assert "<script>" not in bars and "&lt;script&gt;" in bars
    assert "No data" in charts.bar_list([], "x")


def test_dashboard_numbers(config, sample) -> None:
    app = engine_for(config.app_db_url)
    ConversationStore(app, tracker_engine(config.tracker_db_url), "s").refresh()
    stats = compute(app, config.tz, 7)
    assert stats.conversations == 3
    assert stats.user_messages == 5
    assert stats.fallback_rate == pytest.approx(1 / 5)
    assert dict(stats.top_intents)["ask_aftercare"] == 1
    assert dict(stats.handoffs_by_reason) == {"urgent": 1, "fallback": 1}
    assert stats.urgent_handoffs == 1
    assert sum(v for _, v in stats.per_day) == 3 and len(stats.per_day) == 7


def test_dashboard_page(viewer, sample) -> None:
    page = viewer.client.get("/?days=7").text
    assert page.count("<svg") == 4
    assert "20%" in page  # fallback rate


def test_health(anonymous, tracker) -> None:
    data = anonymous.client.get("/health").json()
    assert data == {
        "status": "ok",
        "service": "staff",
        "checks": {"app_db": {"status": "ok"}, "tracker_db": {"status": "ok"}},
    }


def test_health_degraded_without_tracker_table(anonymous) -> None:
    data = anonymous.client.get("/health").json()
    assert data["status"] == "degraded"
    assert data["checks"]["tracker_db"]["status"] == "degraded"
    assert data["checks"]["app_db"]["status"] == "ok"


def test_health_degraded_when_a_database_is_unreachable(app_factory, tmp_path) -> None:
    broken = app_factory(tracker_db_url=f"sqlite:///{tmp_path}/missing/dir/tracker.db")
    data = broken.client.get("/health").json()
    assert data["status"] == "degraded"
    assert "cannot connect" in data["checks"]["tracker_db"]["reason"]
