"""Live staff takeover on the real stack (issue 20): a patient on the demo page, staff in
the staff app, two browser contexts.

Rasa runs with its HTTP API and the token the staff app holds (bot/stack.py). Some tests
start a second staff-app process on the same databases, with a short idle timeout: it
shows that the lock, the feed and the idle hand-back work across processes.
"""

from __future__ import annotations

import json
import os
import random
import string
import time
from collections.abc import Callable, Iterator
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from bot import PROJECT_ROOT
from bot.contract import STAFF_METADATA_KEY
from bot.db import make_engine
from bot.handoff import HandoffRepository
from bot.staff.takeover import IDLE_TEXT, LEFT_TEXT
from tests.browser.test_widget import (
    ask,
    ask_cited_question,
    bot_rows,
    open_widget,
    stored_session_id,
    wait_for_greeting,
    wait_for_reply,
)
from tests.stack import free_port, texts

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PASSWORD = "takeover-test-password"
# The docs' screenshots are refreshed only on request (MESO_UPDATE_SCREENSHOTS=1), so a
# test run never changes tracked files; otherwise they go to test-artifacts/.
DOCS_IMG = (
    PROJECT_ROOT / "docs" / "img"
    if os.environ.get("MESO_UPDATE_SCREENSHOTS") == "1"
    else PROJECT_ROOT / "test-artifacts" / "screenshots"
)
LIVE_TIMEOUT_MS = 30_000
IDLE_SECONDS = 8  # long enough for a REST turn on a busy 2-core machine
NewPage = Callable[..., Page]


def _word(n: int = 5) -> str:
    return "".join(random.choices(string.ascii_lowercase, k=n))


@pytest.fixture(scope="module")
def staff(stack) -> dict[str, str]:  # type: ignore[no-untyped-def]
    suffix = _word(4)
    names = {
        "reviewer": f"nurse-{suffix}",
        "second": f"doctor-{suffix}",
        "viewer": f"viewer-{suffix}",
        "admin": f"admin-{suffix}",
    }
    for key, name in names.items():
        stack.add_staff_user(name, PASSWORD, "reviewer" if key == "second" else key)
    return names


def another_staff_app(stack, name: str, **env: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Another staff-app process on the same databases (its own port and settings)."""
    stack.ports[name] = free_port()
    stack.start(name, "staff", extra_env={"MESO_STAFF_PORT": str(stack.ports[name]), **env})
    try:
        stack.wait_ready(name, "/health")
        yield stack.url(name)
    finally:
        stack.stop(name)


@pytest.fixture
def second_staff_app(stack) -> Iterator[str]:  # type: ignore[no-untyped-def]
    yield from another_staff_app(stack, "staff-b")


@pytest.fixture
def quick_idle_staff_app(stack) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A staff-app process that hands back after IDLE_SECONDS without a staff message.
    Only for the idle test: it would hand back any other test's takeover too."""
    yield from another_staff_app(stack, "staff-idle", MESO_TAKEOVER_IDLE_SECONDS=str(IDLE_SECONDS))


def shot(locator, name: str) -> None:  # type: ignore[no-untyped-def]
    """A screenshot for docs/staff-app.md and docs/widget.md."""
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(DOCS_IMG / name))


def login(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    expect(page.locator("header.top .who")).to_contain_text(username)


def open_conversation(page: Page, base_url: str, sender_id: str) -> None:
    """The transcript page with its takeover panel (the list may lag a moment)."""
    url = f"{base_url}/conversations/{quote(sender_id, safe='')}"
    deadline = time.monotonic() + 30
    while True:
        response = page.goto(url)
        if response is not None and response.status == 200:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} answered {response and response.status}")
        time.sleep(1)
    expect(page.locator("#takeover")).to_be_visible()


def take_over(page: Page, title: str = "nurse") -> None:
    page.select_option("#takeover select[name=title]", title)
    page.click('#takeover button:has-text("Take over")')
    expect(page.locator("#takeover")).to_have_class("takeover held mine")


def staff_send(page: Page, text: str) -> None:
    page.fill("#takeover textarea[name=text]", text)
    page.click('#takeover button:has-text("Send to patient")')
    expect(page.locator("#takeover textarea[name=text]")).to_have_value("")


def live_item(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("#takeover .live-item", has_text=text)


def tracker_rows(stack, sender_id: str) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    engine = make_engine(stack.tracker_db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"),
            {"s": sender_id},
        ).all()
    engine.dispose()
    return [(row.type_name, json.loads(row.data)) for row in rows]


def audit_actions(stack, sender_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    engine = make_engine(stack.app_db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT actor, action FROM staff_audit_log WHERE target = :s ORDER BY id"),
            {"s": sender_id},
        ).all()
    engine.dispose()
    return [(row.actor, row.action) for row in rows if row.action.startswith("takeover")]


def test_widget_patient_and_staff_take_over_reply_and_hand_back(
    stack, new_page: NewPage, staff
) -> None:  # type: ignore[no-untyped-def]
    patient = new_page()
    open_widget(patient, stack.web_url)
    wait_for_greeting(patient)
    before = bot_rows(patient).count()
    ask(patient, "can I talk to a person please?")
    wait_for_reply(patient, before)
    sender_id = stored_session_id(patient)

    nurse = new_page()
    login(nurse, stack.staff_url, staff["reviewer"])
    open_conversation(nurse, stack.staff_url, sender_id)
    take_over(nurse)
    expect(nurse.locator("#takeover .takeover-status")).to_contain_text(staff["reviewer"])

    # The patient is told who joined, and the widget shows it is a person now.
    expect(patient.locator(".mw-staffbar")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(patient.locator(".mw-staffbar")).to_have_text("Connected to clinic staff (nurse)")
    expect(patient.locator(".mw-notice .mw-text").last).to_contain_text(
        "A nurse from the clinic has joined the chat"
    )
    expect(patient.locator(".mw-staff")).to_be_hidden()  # no "Talk to staff" while talking

    # Staff typing reaches the widget before the message does.
    nurse.locator("#takeover textarea[name=text]").press_sequentially("Hello, I'm")
    expect(patient.locator(".mw-staff-typing")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    reply = f"Hello, I'm a nurse at the clinic. How can I help? ({_word()})"
    staff_send(nurse, reply)
    staff_row = patient.locator(".mw-row.mw-from-staff", has_text=reply)
    expect(staff_row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(staff_row.locator(".mw-staff-name")).to_have_text("Clinic staff · Nurse")
    expect(patient.locator(".mw-staff-typing")).to_be_hidden()

    # The patient answers; staff see it without reloading, and the bot stays quiet.
    nurse.evaluate("window.__sameDocument = true")
    bot_replies = bot_rows(patient).count()
    answer = f"Thanks! Could someone call me about booking? ({_word()})"
    ask(patient, answer)
    expect(patient.locator(".mw-typing")).to_be_hidden()  # no bot dots while staff have it
    expect(live_item(nurse, answer)).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(live_item(nurse, answer)).to_have_class("live-item live-patient")
    assert nurse.evaluate("window.__sameDocument") is True
    patient.wait_for_timeout(2000)
    expect(bot_rows(patient)).to_have_count(bot_replies)

    shot(nurse.locator("#takeover"), "takeover-staff-panel.png")
    shot(patient.locator(".mw-panel"), "takeover-widget.png")

    nurse.click('#takeover button:has-text("Hand back to the assistant")')
    expect(nurse.locator("#takeover")).to_have_class("takeover")
    expect(patient.locator(".mw-staffbar")).to_be_hidden(timeout=LIVE_TIMEOUT_MS)
    expect(patient.locator(".mw-notice .mw-text").last).to_have_text(LEFT_TEXT)

    # The bot answers again.
    ask_cited_question(patient)

    events = tracker_rows(stack, sender_id)
    kinds = [kind for kind, _ in events]
    assert kinds.index("pause") < kinds.index("resume")
    (staff_event,) = [data for kind, data in events if kind == "bot" and data["text"] == reply]
    assert staff_event["metadata"][STAFF_METADATA_KEY] == {
        "username": staff["reviewer"],
        "title": "nurse",
    }
    patient_event = [data for kind, data in events if kind == "user" and data["text"] == answer]
    assert patient_event, "the patient's message while paused is in the tracker"
    assert audit_actions(stack, sender_id) == [
        (staff["reviewer"], "takeover"),
        (staff["reviewer"], "takeover_message"),
        (staff["reviewer"], "takeover_hand_back"),
    ]


def test_urgent_message_during_takeover_gets_urgent_care_and_alerts_staff(
    stack, new_page: NewPage, staff
) -> None:  # type: ignore[no-untyped-def]
    sender_id = f"takeover-urgent-{_word()}"
    stack.send("hello", sender_id)
    nurse = new_page()
    login(nurse, stack.staff_url, staff["reviewer"])
    open_conversation(nurse, stack.staff_url, sender_id)
    take_over(nurse)

    # An ordinary message while paused: stored, not answered.
    assert stack.send("ok thanks, I'll wait", sender_id) == []
    expect(live_item(nurse, "I'll wait")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    assert nurse.locator("#takeover").get_attribute("data-sound-cues") is None

    # A red flag while paused: the urgent-care advice comes back in the same turn.
    urgent = "I fainted after the injections and my face is swelling"
    reply = texts(stack.send(urgent, sender_id, timeout=60))
    assert "medical attention now" in reply and "emergency" in reply, reply
    item = live_item(nurse, urgent)
    expect(item).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(item).to_have_class("live-item live-patient urgent")
    expect(item.locator(".badge.urgent")).to_have_text("urgent")
    expect(nurse.locator("#takeover")).to_have_attribute("data-sound-cues", "1")
    expect(live_item(nurse, "medical attention now")).to_be_visible()
    shot(nurse.locator("#takeover"), "takeover-urgent.png")

    # Still paused: the urgent reply did not hand the conversation back to the bot.
    assert stack.send("are you there?", sender_id) == []
    nurse.click('#takeover button:has-text("Hand back to the assistant")')
    expect(nurse.locator("#takeover")).to_have_class("takeover")
    assert "Sources:" in texts(stack.send("how many sessions do I need?", sender_id))


def test_second_staff_member_sees_who_holds_it_and_viewers_cannot_take_over(
    stack, new_page: NewPage, staff, second_staff_app: str
) -> None:  # type: ignore[no-untyped-def]
    sender_id = f"takeover-race-{_word()}"
    stack.send("I'd like to talk to someone", sender_id)
    key = quote(sender_id, safe="")
    nurse = new_page()
    login(nurse, stack.staff_url, staff["reviewer"])
    open_conversation(nurse, stack.staff_url, sender_id)
    # The second reviewer uses the other staff-app process, with the page already open.
    doctor = new_page()
    login(doctor, second_staff_app, staff["second"])
    open_conversation(doctor, second_staff_app, sender_id)
    expect(doctor.locator('#takeover button:has-text("Take over")')).to_be_visible()
    csrf = doctor.locator('#takeover input[name="csrf_token"]').first.get_attribute("value")

    take_over(nurse)
    # The doctor's open page follows (it polls), and names the holder.
    holder = f"{staff['reviewer']} (nurse) has this conversation"
    expect(doctor.locator("#takeover .takeover-status")).to_contain_text(
        holder, timeout=LIVE_TIMEOUT_MS
    )
    expect(doctor.locator('#takeover button:has-text("Take over")')).to_have_count(0)
    expect(doctor.locator("#takeover .takeover-send")).to_have_count(0)
    shot(doctor.locator("#takeover"), "takeover-held.png")
    # A click that was already on its way (the form of the page as it was): refused by
    # the database, and the page it lands on says who holds the conversation.
    refused = doctor.request.post(
        f"{second_staff_app}/conversations/{key}/takeover",
        form={"title": "doctor", "csrf_token": csrf or ""},
    )
    assert refused.ok and "error=takeover_AlreadyHeld" in refused.url
    page = refused.text()
    assert "Someone else has just taken over this conversation" in page
    assert staff["reviewer"] in page and "has this conversation" in page
    # Nor can the doctor write to the patient or hand it back.
    for action in ("messages", "release"):
        response = doctor.request.post(
            f"{second_staff_app}/conversations/{key}/takeover/{action}",
            form={"text": "hello"},
            headers={"X-CSRF-Token": csrf or "", "Accept": "application/json"},
        )
        assert response.status == 403, (action, response.text())

    viewer = new_page()
    login(viewer, stack.staff_url, staff["viewer"])
    open_conversation(viewer, stack.staff_url, sender_id)
    expect(viewer.locator("#takeover")).to_contain_text("Reviewers and admins can take over")
    expect(viewer.locator("#takeover form")).to_have_count(0)
    viewer_csrf = viewer.locator('header.top input[name="csrf_token"]').get_attribute("value")
    response = viewer.request.post(
        f"{stack.staff_url}/conversations/{key}/takeover",
        form={"title": "nurse"},
        headers={"X-CSRF-Token": viewer_csrf or "", "Accept": "application/json"},
    )
    assert response.status == 403

    assert audit_actions(stack, sender_id) == [
        (staff["reviewer"], "takeover"),
        (staff["second"], "takeover_refused"),
    ]
    nurse.click('#takeover button:has-text("Hand back to the assistant")')
    expect(nurse.locator("#takeover")).to_have_class("takeover")


def test_idle_staff_hand_back_to_the_bot_and_the_handoff_request_stays_open(
    stack, new_page: NewPage, staff, quick_idle_staff_app: str
) -> None:  # type: ignore[no-untyped-def]
    sender_id = f"takeover-idle-{_word()}"
    stack.send("hello", sender_id)
    request = HandoffRepository(make_engine(stack.app_db_url)).create(
        sender_id=sender_id, channel="rest", reason="other", urgency="normal"
    )
    nurse = new_page()
    login(nurse, quick_idle_staff_app, staff["reviewer"])
    open_conversation(nurse, quick_idle_staff_app, sender_id)
    take_over(nurse)
    assert stack.send("hello?", sender_id) == []  # paused

    # Nobody writes for IDLE_SECONDS: the staff app hands back, and the open page follows.
    expect(nurse.locator("#takeover")).to_have_class("takeover", timeout=LIVE_TIMEOUT_MS)
    events = tracker_rows(stack, sender_id)
    assert [kind for kind, _ in events].count("resume") == 1
    assert any(kind == "bot" and data["text"] == IDLE_TEXT for kind, data in events)
    assert ("system", "takeover_hand_back") in audit_actions(stack, sender_id)
    handoff = HandoffRepository(make_engine(stack.app_db_url)).get(request.id)
    assert handoff.status == "open"
    assert "Sources:" in texts(stack.send("how many sessions do I need?", sender_id))


def test_takeover_routes_need_a_session_and_rasa_routes_need_the_token(stack) -> None:  # type: ignore[no-untyped-def]
    response = httpx.post(
        f"{stack.staff_url}/conversations/x/takeover", data={"title": "nurse"}, timeout=10
    )
    assert response.status_code == 401
    typing = httpx.post(
        f"{stack.rasa_url}/webhooks/takeover/typing", json={"sender_id": "web:x"}, timeout=10
    )
    assert typing.status_code == 401
    events = httpx.post(
        f"{stack.rasa_url}/conversations/x/tracker/events",
        json=[{"event": "pause"}],
        params={"token": "wrong"},
        timeout=10,
    )
    assert events.status_code == 401
