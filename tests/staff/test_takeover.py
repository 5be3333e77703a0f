"""Live takeover without servers: the database lock, the idle compare-and-set, the
WhatsApp window and the live feed's reading of tracker rows (bot.staff.takeover).

The full flows, with Rasa, the widget and WhatsApp, are in tests/browser/test_takeover*.py.
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from bot.channels.whatsapp_window import (
    WINDOW,
    WhatsAppReplyWindow,
    forget,
    last_inbound,
    record_inbound,
    reply_number,
)
from bot.clinic_hours import DAY_KEYS, OpeningHours
from bot.config import load_settings
from bot.db import make_engine, session_scope
from bot.staff.app import create_app
from bot.staff.auth import UserStore
from bot.staff.config import StaffConfig
from bot.staff.events import metadata as tracker_metadata
from bot.staff.models import AuditEntry, utcnow
from bot.staff.routes.takeover import clinic_hours_state
from bot.staff.takeover import (
    AlreadyHeld,
    NotHolder,
    TakeoverConfig,
    TakeoverOff,
    Takeovers,
    feed_item,
    joined_text,
)
from bot.staff.takeover_models import StaffTakeover
from tests.staff.conftest import Staff

WA = "wa:" + "0" * 32


@pytest.fixture
def takeovers(tmp_path: Path) -> Takeovers:
    app = make_engine(f"sqlite:///{tmp_path / 'meso.db'}")
    AuditEntry.__table__.create(app)
    tracker = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    tracker_metadata.create_all(tracker)
    # No API token: nothing here talks to Rasa.
    return Takeovers(app, tracker, TakeoverConfig("http://127.0.0.1:9", None, idle_seconds=60))


def test_only_one_staff_member_can_hold_a_conversation(takeovers: Takeovers) -> None:
    takeovers._claim("web:a", "alice", "nurse")
    with pytest.raises(AlreadyHeld) as refused:
        takeovers._claim("web:a", "bob", "doctor")
    assert refused.value.holder.held_by == "alice"
    assert "alice (nurse)" in str(refused.value)
    takeovers._claim("web:b", "bob", "doctor")  # another conversation is free


def test_concurrent_claims_have_exactly_one_winner(takeovers: Takeovers) -> None:
    winners: list[str] = []
    losers: list[str] = []
    start = threading.Barrier(6)

    def claim(name: str) -> None:
        start.wait()
        try:
            takeovers._claim("web:race", name, "nurse")
            winners.append(name)
        except AlreadyHeld as exc:
            losers.append(exc.holder.held_by)

    threads = [threading.Thread(target=claim, args=(f"staff{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert losers == [winners[0]] * 5  # every loser was told who holds it


def test_release_is_compare_and_set(takeovers: Takeovers) -> None:
    takeovers._claim("web:a", "alice", "nurse")
    assert takeovers._release("web:a", "bob") is None  # not bob's
    assert takeovers.holder("web:a") is not None
    # Idle hand-back only if still idle: alice spoke after the cutoff.
    cutoff = utcnow() - timedelta(seconds=30)
    assert takeovers._release("web:a", None, idle_before=cutoff) is None
    with session_scope(takeovers.app_engine) as session:
        session.execute(
            sa.update(StaffTakeover).values(last_staff_at=utcnow() - timedelta(seconds=120))
        )
    assert [row.sender_id for row in takeovers._idle(utcnow())] == ["web:a"]
    released = takeovers._release("web:a", None, idle_before=cutoff)
    assert released is not None and released.held_by == "alice"
    assert takeovers._release("web:a", None, idle_before=cutoff) is None  # only once


def test_touch_keeps_a_takeover_from_going_idle(takeovers: Takeovers) -> None:
    takeovers._claim("web:a", "alice", "nurse")
    with session_scope(takeovers.app_engine) as session:
        session.execute(
            sa.update(StaffTakeover).values(last_staff_at=utcnow() - timedelta(seconds=120))
        )
    assert takeovers._touch("web:a", "alice")
    assert not takeovers._touch("web:a", "bob")
    assert takeovers._idle(utcnow()) == []


def test_actions_need_the_holder_and_the_api_token(takeovers: Takeovers) -> None:
    with pytest.raises(TakeoverOff, match="MESO_RASA_API_TOKEN"):
        asyncio.run(takeovers.take_over("web:a", "alice", "nurse"))
    assert takeovers.holder("web:a") is None  # nothing claimed
    takeovers._claim("web:a", "alice", "nurse")
    with pytest.raises(NotHolder, match="alice"):
        asyncio.run(takeovers.send("web:a", "bob", "hello"))
    with pytest.raises(NotHolder, match="take it over first"):
        asyncio.run(takeovers.send("web:free", "bob", "hello"))


def test_whatsapp_window_keeps_the_number_for_24_hours_only(takeovers: Takeovers) -> None:
    engine = takeovers.app_engine
    now = utcnow()
    record_inbound(WA, "34600000001", engine, now=now - timedelta(hours=2))
    assert reply_number(WA, engine) == "34600000001"
    window = takeovers.window(WA)
    assert window is not None and window.open
    assert 21 * 3600 < window.seconds_left <= 22 * 3600
    assert takeovers.window("web:a") is None  # not WhatsApp

    with session_scope(engine) as session:
        session.execute(
            sa.update(WhatsAppReplyWindow).values(last_inbound_at=now - WINDOW - timedelta(1))
        )
    assert reply_number(WA, engine) is None
    closed = takeovers.window(WA)
    assert closed is not None and not closed.open and "24 hours" in closed.reason
    # Another patient's message deletes numbers past the window.
    record_inbound("wa:other", "34600000002", engine)
    assert last_inbound(WA, engine) is None
    assert forget(["wa:other"], engine) == 1


def test_feed_reads_patient_staff_and_urgent_messages(takeovers: Takeovers) -> None:
    rows = [
        ("user", {"text": "hi", "parse_data": {"intent": {"name": "greet"}}}),
        ("pause", {}),
        ("bot", {"text": "hello", "metadata": {"staff": {"username": "al", "title": "nurse"}}}),
        ("user", {"text": "I fainted", "parse_data": {"intent": {"name": "report_urgent"}}}),
        ("action", {"name": "utter_urgent_care"}),
    ]
    with takeovers.tracker_engine.begin() as conn:
        for i, (kind, data) in enumerate(rows):
            conn.execute(
                sa.text(
                    "INSERT INTO events (sender_id, type_name, timestamp, data) "
                    "VALUES (:s, :t, :ts, :d)"
                ),
                {"s": "web:a", "t": kind, "ts": 1000.0 + i, "d": json.dumps(data)},
            )
    items = takeovers.feed("web:a", 0)
    assert [i["kind"] for i in items] == ["patient", "state", "staff", "patient"]
    assert items[2]["by"] == "al (nurse)"
    assert [i["urgent"] for i in items if i["kind"] == "patient"] == [False, True]
    assert takeovers.feed("web:a", items[-1]["id"]) == []
    assert takeovers.last_event_id("web:a") == 5
    assert feed_item(9, "bot", None, {"text": "x"})["kind"] == "bot"


def test_config_from_settings_and_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESO_TAKEOVER_IDLE_SECONDS", "5")
    monkeypatch.setenv("MESO_TAKEOVER_TITLES", "nurse, aesthetic doctor ,")
    monkeypatch.setenv("MESO_RASA_PORT", "5123")
    monkeypatch.setenv("MESO_RASA_API_TOKEN", "t" * 40)
    monkeypatch.delenv("MESO_RASA_API_URL", raising=False)
    config = TakeoverConfig.from_settings(load_settings())
    assert config.idle_seconds == 5
    assert config.titles == ("nurse", "aesthetic doctor")
    assert config.rasa_url == "http://127.0.0.1:5123"
    assert config.enabled
    assert config.opening_hours is None  # the default clinic.yml has none
    assert joined_text("nurse").startswith("A nurse from the clinic has joined")
    assert joined_text("aesthetic doctor").startswith("An aesthetic doctor")


def test_a_deletion_request_ends_the_takeover_and_forgets_the_number(tmp_path: Path) -> None:
    from bot.appdb import upgrade
    from bot.db import engine_for
    from bot.staff.retention import delete_sender

    upgrade(f"sqlite:///{tmp_path / 'app.db'}")  # the tables come from the migrations
    app = engine_for(f"sqlite:///{tmp_path / 'app.db'}")
    tracker = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    tracker_metadata.create_all(tracker)
    service = Takeovers(app, tracker, TakeoverConfig("http://127.0.0.1:9", None))
    service._claim(WA, "alice", "nurse")
    record_inbound(WA, "34600000003", app)
    report = delete_sender(app, tracker, WA, "secret-" * 6, "admin")
    assert service.holder(WA) is None
    assert reply_number(WA, app) is None
    assert report.rows["staff_takeovers"] == report.rows["whatsapp_reply_windows"] == 1


def test_clinic_hours_state_for_the_panel() -> None:
    hours = OpeningHours.parse({"mon": ["09:00-18:00"]}, "Europe/Madrid")
    monday_noon = datetime(2026, 11, 30, 11, 0)  # naive UTC: 12:00 in Madrid
    assert clinic_hours_state(None, monday_noon) is None
    assert clinic_hours_state(hours, monday_noon) == {
        "open": True,
        "hours": "Monday, 09:00–18:00 (Europe/Madrid)",
        "next_opening": "Monday at 09:00",
    }
    assert clinic_hours_state(hours, monday_noon + timedelta(hours=7))["open"] is False


def test_transcript_says_the_clinic_is_closed_next_to_take_over(
    config: StaffConfig, users: UserStore, sample: dict[str, object]
) -> None:
    # Open one minute a week, a minute that has just passed: closed now, whatever the day.
    now = datetime.now(ZoneInfo("Europe/Madrid")) - timedelta(minutes=2)
    minute = f"{now:%H:%M}-{(now + timedelta(minutes=1)):%H:%M}"
    if minute.endswith("00:00"):
        minute = minute[:6] + "24:00"
    hours = OpeningHours.parse({DAY_KEYS[now.weekday()]: [minute]}, "Europe/Madrid")
    takeover = TakeoverConfig("http://127.0.0.1:9", "t" * 40, opening_hours=hours)
    with TestClient(create_app(config=config, takeover=takeover)) as client:
        staff = Staff(client)
        staff.login("reviewer")
        page = client.get("/conversations/web-good").text
    assert "The clinic is closed now" in page
    assert hours.describe() in page
    assert "you can still take over" in page
    assert 'class="primary">Take over</button>' in page  # still offered to staff


def test_take_over_and_send_routes_answer_json_or_redirect_with_the_reason(
    config: StaffConfig, users: UserStore, sample: dict[str, object]
) -> None:
    # A token but no Rasa on that port: every action that needs Rasa fails cleanly.
    takeover = TakeoverConfig("http://127.0.0.1:9", "t" * 40)
    with TestClient(create_app(config=config, takeover=takeover)) as client:
        staff = Staff(client)
        staff.login("reviewer")
        url = "/conversations/web-good/takeover"
        as_json = {"accept": "application/json"}
        wrong_title = staff.post(url, {"title": "surgeon"}, headers=as_json)
        assert wrong_title.status_code == 409
        assert "Choose how you are introduced" in wrong_title.json()["error"]
        no_rasa = staff.post(url, {"title": "nurse"}, headers=as_json)
        assert no_rasa.status_code == 502
        assert "did not answer" in no_rasa.json()["error"]
        # The lock was released, so sending is refused: nobody holds the conversation.
        not_held = staff.post(url + "/messages", {"text": "hello"}, headers=as_json)
        assert not_held.status_code == 403
        assert "take it over first" in not_held.json()["error"]
        # Without JavaScript: back to the panel with the error's code.
        redirect = staff.post(url + "/messages", {"text": "hello"})
        assert redirect.status_code == 303
        assert redirect.headers["location"].endswith("?error=takeover_NotHolder#takeover")
