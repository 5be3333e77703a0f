"""Live staff takeover of a WhatsApp conversation, against the fake Graph API (issue 20).

The patient's side is played by signed webhooks (as Meta sends them) and read back from
the FakeGraphAPI; staff use the staff app in Chromium. The 24-hour window is closed by
moving the patient's last message back 25 hours in the app database, which is what the
passing of a day would do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from bot.channels.whatsapp_window import WhatsAppReplyWindow
from bot.db import make_engine, session_scope
from bot.staff.models import utcnow
from bot.staff.takeover import LEFT_TEXT
from tests.browser.test_takeover import (
    LIVE_TIMEOUT_MS,
    _word,
    audit_actions,
    live_item,
    login,
    open_conversation,
    shot,
    staff,  # noqa: F401 - the module's accounts fixture
    staff_send,
    take_over,
)
from tests.channels import payloads as p
from tests.integration.test_whatsapp_stack import (
    ANSWER_TIMEOUT_S,
    conversation_id,
    post_webhook,
    saved_intent,
    wait_for_answer,
    webhook_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.browser]

NewPage = Callable[..., Page]


def patient_says(stack, wa_id: str, text: str) -> None:  # type: ignore[no-untyped-def]
    response = post_webhook(stack, webhook_for(stack, p.text_message(wa_id, text)))
    assert response.status_code == 200


def sent_text(stack, wa_id: str, needle: str) -> str:  # type: ignore[no-untyped-def]
    (message,) = stack.graph_api.wait_for(
        lambda r: r.to == wa_id and needle in r.text, timeout=ANSWER_TIMEOUT_S
    )
    return message.text


def test_whatsapp_takeover_reply_window_refusal_and_hand_back(
    stack,
    new_page: NewPage,
    staff,  # noqa: F811
) -> None:  # type: ignore[no-untyped-def]
    wa_id = p.new_wa_id()
    patient_says(stack, wa_id, "can I talk to a person please?")
    assert saved_intent(stack, wa_id, timeout=ANSWER_TIMEOUT_S) is not None
    sender_id = conversation_id(stack, wa_id)
    assert sender_id is not None and sender_id.startswith("wa:")

    nurse = new_page()
    login(nurse, stack.staff_url, staff["reviewer"])
    open_conversation(nurse, stack.staff_url, sender_id)
    window = nurse.locator("#takeover .window")
    expect(window).to_have_class("window open")
    expect(window.locator(".window-left")).to_have_text(re.compile(r"^2[23] h \d+ min$"))
    take_over(nurse)
    assert "A nurse from the clinic has joined the chat" in sent_text(stack, wa_id, "joined")

    reply = f"Hello, this is the clinic's nurse. How can I help? ({_word()})"
    staff_send(nurse, reply)
    assert sent_text(stack, wa_id, reply) == reply

    answer = f"I'd like to book a consultation ({_word()})"
    patient_says(stack, wa_id, answer)
    expect(live_item(nurse, answer)).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    shot(nurse.locator("#takeover"), "takeover-whatsapp.png")

    # A day later: WhatsApp no longer allows free-form messages; the staff app refuses.
    with session_scope(make_engine(stack.app_db_url)) as session:
        session.execute(
            sa.update(WhatsAppReplyWindow)
            .where(WhatsAppReplyWindow.conversation_id == sender_id)
            .values(last_inbound_at=utcnow() - timedelta(hours=25))
        )
    sent_before = len([r for r in stack.graph_api.requests if r.to == wa_id])
    nurse.fill("#takeover textarea[name=text]", "Are you still there?")
    nurse.click('#takeover button:has-text("Send to patient")')
    expect(nurse.locator("#takeover .live-error")).to_contain_text(
        "only within 24 hours of the patient's last message"
    )
    nurse.reload()
    expect(nurse.locator("#takeover .window")).to_have_class("window closed")
    expect(nurse.locator("#takeover textarea[name=text]")).to_be_disabled()
    shot(nurse.locator("#takeover"), "takeover-whatsapp-closed.png")
    assert len([r for r in stack.graph_api.requests if r.to == wa_id]) == sent_before
    assert (staff["reviewer"], "takeover_send_refused") in audit_actions(stack, sender_id)

    # The patient writes again: the window reopens, and the hand-back reaches them.
    patient_says(stack, wa_id, f"hello? ({_word()})")
    nurse.wait_for_timeout(1000)
    nurse.reload()
    expect(nurse.locator("#takeover .window")).to_have_class("window open")
    nurse.click('#takeover button:has-text("Hand back to the assistant")')
    expect(nurse.locator("#takeover")).to_have_class("takeover")
    assert sent_text(stack, wa_id, "automated assistant is back") == LEFT_TEXT

    patient_says(stack, wa_id, "how many sessions do I need?")
    assert "_Sources:" in wait_for_answer(stack, wa_id).text
    assert [a for _, a in audit_actions(stack, sender_id)] == [
        "takeover",
        "takeover_message",
        "takeover_send_refused",
        "takeover_hand_back",
    ]
