"""The staff app in Chromium against the real stack (issue 9).

Conversations are made over Rasa's REST channel, so the staff app reads what Rasa
really stored. Staff accounts are created with the real CLI (`python -m bot staff
add`, password on stdin).
"""

from __future__ import annotations

import csv
import io
import random
import re
import string
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot import PROJECT_ROOT
from bot.db import engine_for
from bot.handoff import HandoffRepository, utcnow
from tests.staff.rasa_validate import assert_rasa_validate_accepts

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PASSWORD = "browser-test-password"
NewPage = Callable[..., Page]


def _word(n: int = 6) -> str:
    return "".join(random.choices(string.ascii_lowercase, k=n))


@pytest.fixture(scope="module")
def accounts(stack) -> dict[str, str]:  # type: ignore[no-untyped-def]
    suffix = _word(4)
    names = {role: f"{role}-{suffix}" for role in ("viewer", "reviewer", "admin")}
    for role, name in names.items():
        stack.add_staff_user(name, PASSWORD, role)
    return names


@pytest.fixture(scope="module")
def conversation(stack) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A real conversation over REST: a question with a cited answer, then gibberish."""
    sender = f"staff-browser-{_word()}"
    question = "how many sessions do I need?"
    gibberish = f"zorp {_word()} blick {_word()}"
    stack.send(question, sender)
    stack.send(gibberish, sender)
    return {"sender": sender, "question": question, "gibberish": gibberish}


def login(page: Page, stack, username: str) -> None:  # type: ignore[no-untyped-def]
    if "/login" not in page.url:
        page.goto(stack.staff_url + "/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_log_in_filter_and_open_the_transcript(
    stack, new_page: NewPage, accounts, conversation
) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(stack.staff_url + "/conversations")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # no session, no data
    login(page, stack, accounts["reviewer"])
    expect(page).to_have_url(re.compile(r"/conversations$"))

    page.fill('input[name="q"]', conversation["sender"])
    page.click('button:has-text("Apply")')
    expect(page).to_have_url(re.compile(r"q=" + re.escape(conversation["sender"])))
    page.click('a[data-facet="channel"][data-value="rest"]')
    expect(page).to_have_url(re.compile(r"channel=rest"))
    link = page.locator("a.permalink", has_text=conversation["sender"])
    expect(link).to_have_count(1)

    link.click()
    expect(page).to_have_url(f"{stack.staff_url}/conversations/{conversation['sender']}")
    first = page.locator("article.message.user").first
    expect(first).to_contain_text(conversation["question"])
    expect(first.locator(".intent")).to_have_text("ask_number_of_sessions")
    expect(first.locator(".confidence")).to_have_text(re.compile(r"^[01]\.\d\d$"))
    # The bot's answer with the facts and sources it cited, and the action it ran.
    expect(page.locator(".answer-meta").first).to_contain_text("Sources:")
    expect(page.locator(".answer-meta .facts li").first).to_be_visible()
    expect(page.locator(".step-action").first).to_be_visible()
    page.screenshot(path=str(_artifacts() / "staff-transcript.png"), full_page=True)


def test_tag_it_and_mark_it_reviewed(stack, new_page: NewPage, accounts, conversation) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    login(page, stack, accounts["reviewer"])
    page.goto(f"{stack.staff_url}/conversations/{conversation['sender']}")
    page.fill('input[name="tag"]', "Browser Checked")
    page.click('button:has-text("Add tag")')
    expect(page.locator(".notice")).to_have_text("Tag added.")
    expect(page.locator("#tags a.tag")).to_have_text(["browser-checked"])
    page.click('button:has-text("Mark reviewed")')
    expect(page.locator("#review")).to_contain_text(f"Reviewed by {accounts['reviewer']}")

    page.goto(f"{stack.staff_url}/conversations?reviewed=yes&tag=browser-checked")
    expect(page.locator("a.permalink", has_text=conversation["sender"])).to_have_count(1)
    page.goto(f"{stack.staff_url}/conversations?reviewed=no&q={conversation['sender']}")
    expect(page.locator("a.permalink", has_text=conversation["sender"])).to_have_count(0)


def test_correct_an_intent_and_the_export_passes_rasa_validate(
    stack, new_page: NewPage, accounts, conversation, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    login(page, stack, accounts["reviewer"])
    # Threshold 1: whatever the model made of the gibberish, it is below certainty.
    page.goto(f"{stack.staff_url}/nlu?threshold=1")
    item = page.locator("article.inbox-item", has_text=conversation["gibberish"])
    expect(item).to_have_count(1)
    item.locator("select").select_option("out_of_scope")
    item.locator('button[value="save"]').click()
    expect(page.locator(".notice")).to_have_text("Decision saved.")
    page.goto(f"{stack.staff_url}/nlu?threshold=1&status=handled")
    handled = page.locator("article.inbox-item", has_text=conversation["gibberish"])
    expect(handled.locator(".correction")).to_contain_text("out_of_scope")

    with page.expect_download() as download:
        page.click("text=Download corrections as NLU YAML")
    exported = tmp_path / "staff_corrections.yml"
    download.value.save_as(exported)
    text = exported.read_text(encoding="utf-8")
    assert text.startswith('version: "3.1"')
    assert f"- {conversation['gibberish']}" in text
    assert "- intent: out_of_scope" in text
    assert_rasa_validate_accepts(text, tmp_path)


def test_work_the_handoff_queue(stack, new_page: NewPage, accounts) -> None:  # type: ignore[no-untyped-def]
    repository = HandoffRepository(engine_for(stack.app_db_url))
    normal = repository.create(
        sender_id=f"staff-browser-normal-{_word()}",
        reason="request_human",
        channel="rest",
        contact_name="Alex",
        contact_channel="email",
        contact_value="alex.browser@example.org",
        consent_at=utcnow(),
    )
    # A real urgent report over REST: advice, then "yes" to alerting the clinic.
    urgent_sender = f"staff-browser-urgent-{_word()}"
    stack.send("theres pus coming out of the injection spots", urgent_sender)
    stack.send("yes", urgent_sender)

    page = new_page()
    login(page, stack, accounts["reviewer"])
    page.goto(stack.staff_url + "/handoffs")
    urgent_row = page.locator("tr", has=page.locator(f'a[href="/conversations/{urgent_sender}"]'))
    expect(urgent_row).to_have_count(1)
    expect(urgent_row).to_contain_text("urgent")
    urgencies = page.locator("table.handoffs tbody tr td:nth-child(3)").all_inner_texts()
    assert urgencies == sorted(urgencies, key=lambda u: u.strip() != "urgent"), urgencies
    normal_row = page.locator(f"tr#h{normal.id}")
    expect(normal_row).to_contain_text("alex.browser@example.org")  # reviewers see contacts

    urgent_row.locator('button:has-text("Mark contacted")').click()
    expect(page.locator(".notice")).to_have_text("Status changed.")
    expect(urgent_row.locator("td:nth-child(6)")).to_contain_text("contacted")
    expect(urgent_row.locator("td:nth-child(6)")).to_contain_text(f"by {accounts['reviewer']}")
    urgent_row.locator('button:has-text("Close")').click()
    expect(urgent_row).to_have_count(0)  # gone from the active queue
    page.goto(stack.staff_url + "/handoffs?status=closed")
    closed_row = page.locator("tr", has=page.locator(f'a[href="/conversations/{urgent_sender}"]'))
    expect(closed_row).to_contain_text("closed")

    viewer = new_page()
    login(viewer, stack, accounts["viewer"])
    viewer.goto(stack.staff_url + "/handoffs")
    expect(viewer.locator(f"tr#h{normal.id}")).to_be_visible()
    expect(viewer.locator(f"tr#h{normal.id}")).not_to_contain_text("alex.browser@example.org")
    expect(viewer.locator("text=Mark contacted")).to_have_count(0)


def test_export_csv_and_see_it_in_the_audit_log(
    stack, new_page: NewPage, accounts, conversation
) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    login(page, stack, accounts["reviewer"])
    page.goto(f"{stack.staff_url}/conversations/{conversation['sender']}")
    page.goto(f"{stack.staff_url}/conversations?q={conversation['sender']}")
    with page.expect_download() as download:
        page.click('a:has-text("CSV")')
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    [row] = [r for r in rows if r["sender_id"] == conversation["sender"]]
    assert "ask_number_of_sessions" in row["intents"]
    assert row["channel"] == "rest"

    viewer = new_page()
    login(viewer, stack, accounts["viewer"])
    viewer.goto(f"{stack.staff_url}/conversations?q={conversation['sender']}")
    expect(viewer.locator('a:has-text("CSV")')).to_have_count(0)
    response = viewer.goto(f"{stack.staff_url}/conversations.csv")
    assert response is not None and response.status == 403

    admin = new_page()
    login(admin, stack, accounts["admin"])
    admin.goto(f"{stack.staff_url}/admin/audit?actor={accounts['reviewer']}")
    log = admin.locator("table.audit")
    for action in ("login", "view_conversation", "export_conversations"):
        expect(log).to_contain_text(action)


def _artifacts() -> Path:
    path = PROJECT_ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
