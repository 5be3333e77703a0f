"""The WhatsApp connector inside the real Rasa server, answering through a fake Graph API.

Meta's side is played by this test: it signs webhook payloads with the app secret the
stack's Rasa process was given, and reads the bot's replies from the FakeGraphAPI that
WHATSAPP_API_BASE_URL points at. Each test uses its own made-up patient number, since
the stack (and its fake Graph API) is shared by the whole session.
"""

from __future__ import annotations

import time

import httpx
import pytest
import sqlalchemy as sa

from bot.channels.conversation_ids import KEY_FILE, whatsapp_conversation_id
from bot.channels.whatsapp import TEXT_ONLY_REPLY
from bot.channels.whatsapp_messages import format_for_whatsapp
from tests.channels import payloads as p
from tests.fakes.graph_api import RecordedRequest
from tests.integration.helpers import last_user_intent
from tests.stack import Stack, dump

pytestmark = pytest.mark.integration

WEBHOOK = "/webhooks/whatsapp/webhook"
ANSWER_TIMEOUT_S = 60
# How long to watch for replies that must not come.
QUIET_PERIOD_S = 3


def post_webhook(stack: Stack, payload: dict | bytes, *, sign: bool = True) -> httpx.Response:
    secret = stack.whatsapp_env["WHATSAPP_APP_SECRET"]
    body, headers = p.signed(payload, secret)
    if not sign:
        headers.pop("X-Hub-Signature-256")
    return httpx.post(stack.rasa_url + WEBHOOK, content=body, headers=headers, timeout=10)


def webhook_for(stack: Stack, *messages: dict) -> dict:
    return p.messages_webhook(
        *messages, phone_number_id=stack.whatsapp_env["WHATSAPP_PHONE_NUMBER_ID"]
    )


def wait_for_answer(stack: Stack, wa_id: str) -> RecordedRequest:
    """The first cited answer sent to ``wa_id`` (a greeting may come before it)."""
    (answer,) = stack.graph_api.wait_for(
        lambda r: r.to == wa_id and "_Sources:" in r.text, timeout=ANSWER_TIMEOUT_S
    )
    return answer


def rest_sources_line(stack: Stack, message: str) -> str:
    """The Sources line the REST channel gives for the same message."""
    for reply in stack.send(message):
        lines = (reply.get("text") or "").strip().splitlines()
        if lines and lines[-1].startswith("Sources:"):
            return lines[-1]
    raise AssertionError(f"no cited answer over REST for {message!r}")


def conversation_id(stack: Stack, wa_id: str) -> str | None:
    """The tracker-store id of a patient's conversation: a keyed pseudonym, not the number.

    Rasa writes the key to ``var/conversation_id.key`` when it handles its first WhatsApp
    message; before that there is no key, and no WhatsApp conversation (None).
    """
    key_file = stack.var_dir / KEY_FILE
    if not key_file.exists():
        return None
    return whatsapp_conversation_id(wa_id, key_file.read_text().strip().encode())


def saved_intent(stack: Stack, wa_id: str, timeout: float = 10) -> str | None:
    """The intent of the patient's last message, once Rasa has saved the turn.

    Rasa saves the tracker after the bot's messages have gone out, so the answer can reach
    the fake Graph API a moment before the turn is in the tracker store.
    """
    deadline = time.monotonic() + timeout
    while True:
        conversation = conversation_id(stack, wa_id)
        intent = (
            None
            if conversation is None
            else last_user_intent(stack.tracker_db_url, conversation)[0]
        )
        if intent is not None or time.monotonic() > deadline:
            return intent
        time.sleep(0.2)


def user_events(stack: Stack, wa_id: str) -> int:
    """How many patient messages the tracker store holds for the number ``wa_id``."""
    conversation = conversation_id(stack, wa_id)
    if conversation is None:
        return 0
    engine = sa.create_engine(stack.tracker_db_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT COUNT(*) FROM events WHERE sender_id = :sender AND type_name = 'user'"
                ),
                {"sender": conversation},
            ).scalar_one()
    finally:
        engine.dispose()


def sent_to(stack: Stack, wa_id: str) -> list[RecordedRequest]:
    return [r for r in stack.graph_api.requests if r.to == wa_id]


def test_handshake(stack: Stack) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": stack.whatsapp_env["WHATSAPP_VERIFY_TOKEN"],
        "hub.challenge": "427318",
    }
    ok = httpx.get(stack.rasa_url + WEBHOOK, params=params, timeout=10)
    assert (ok.status_code, ok.text) == (200, "427318")
    wrong = httpx.get(
        stack.rasa_url + WEBHOOK, params={**params, "hub.verify_token": "guess"}, timeout=10
    )
    assert wrong.status_code == 403
    assert "427318" not in wrong.text


def test_signed_text_gets_the_cited_answer(stack: Stack) -> None:
    wa_id = p.new_wa_id()
    question = "how many sessions do I need?"
    started = time.monotonic()
    response = post_webhook(stack, webhook_for(stack, p.text_message(wa_id, question)))
    assert response.status_code == 200
    assert time.monotonic() - started < 5, "the webhook must not wait for the bot"

    answer = wait_for_answer(stack, wa_id)
    conversation = "\n---\n".join(r.text for r in sent_to(stack, wa_id))
    assert answer.headers["authorization"] == (
        f"Bearer {stack.whatsapp_env['WHATSAPP_ACCESS_TOKEN']}"
    )
    assert answer.path.endswith(f"/{stack.whatsapp_env['WHATSAPP_PHONE_NUMBER_ID']}/messages")
    assert "10" in conversation, conversation
    # Same citation as on the website, set in WhatsApp italics.
    expected = format_for_whatsapp(rest_sources_line(stack, question))
    assert answer.text.splitlines()[-1] == expected, conversation
    assert saved_intent(stack, wa_id) == "ask_number_of_sessions", conversation
    # The answer's quick replies arrive as reply buttons whose ids are Rasa payloads.
    interactive = [r for r in sent_to(stack, wa_id) if r.type == "interactive"]
    assert interactive, dump([r.json for r in sent_to(stack, wa_id)])
    assert all(i.startswith("/") for r in interactive for i in r.reply_ids)
    # The answer_meta custom message is not sent as text.
    assert not any('"answer_meta"' in r.text for r in sent_to(stack, wa_id))


def test_button_reply_routes_to_its_intent(stack: Stack) -> None:
    wa_id = p.new_wa_id()
    reply = p.button_reply(wa_id, "/ask_side_effects", "Side effects")
    assert post_webhook(stack, webhook_for(stack, reply)).status_code == 200

    answer = wait_for_answer(stack, wa_id)
    conversation = "\n---\n".join(r.text for r in sent_to(stack, wa_id))
    assert saved_intent(stack, wa_id) == "ask_side_effects", conversation
    assert "redness" in conversation.lower(), conversation
    expected = format_for_whatsapp(rest_sources_line(stack, "/ask_side_effects"))
    assert answer.text.splitlines()[-1] == expected, conversation


@pytest.mark.parametrize("tamper", ["unsigned", "tampered"])
def test_unsigned_and_tampered_posts_are_rejected(stack: Stack, tamper: str) -> None:
    wa_id = p.new_wa_id()
    payload = webhook_for(stack, p.text_message(wa_id, "how many sessions do I need?"))
    if tamper == "unsigned":
        response = post_webhook(stack, payload, sign=False)
    else:
        body, headers = p.signed(payload, stack.whatsapp_env["WHATSAPP_APP_SECRET"])
        body = body.replace(b"how many sessions", b"how many SESSIONS")
        response = httpx.post(stack.rasa_url + WEBHOOK, content=body, headers=headers, timeout=10)
    assert response.status_code == 403
    time.sleep(QUIET_PERIOD_S)
    assert sent_to(stack, wa_id) == []
    assert user_events(stack, wa_id) == 0


def test_replayed_duplicate_is_ignored(stack: Stack) -> None:
    wa_id = p.new_wa_id()
    payload = webhook_for(stack, p.text_message(wa_id, "does it hurt?"))
    assert post_webhook(stack, payload).status_code == 200
    wait_for_answer(stack, wa_id)
    assert saved_intent(stack, wa_id) == "ask_pain"
    time.sleep(QUIET_PERIOD_S)  # let the whole first turn go out
    before = len(sent_to(stack, wa_id))
    assert user_events(stack, wa_id) == 1

    replay = post_webhook(stack, payload)  # Meta retrying the same notification
    assert replay.status_code == 200
    time.sleep(QUIET_PERIOD_S)
    assert len(sent_to(stack, wa_id)) == before
    assert user_events(stack, wa_id) == 1


def test_media_gets_the_polite_reply(stack: Stack) -> None:
    wa_id = p.new_wa_id()
    response = post_webhook(stack, webhook_for(stack, p.media_message(wa_id, "image")))
    assert response.status_code == 200
    (reply,) = stack.graph_api.wait_for(lambda r: r.to == wa_id, timeout=ANSWER_TIMEOUT_S)
    assert reply.type == "text"
    assert reply.text == TEXT_ONLY_REPLY
    assert "I can only read text messages" in reply.text
    assert user_events(stack, wa_id) == 0


def test_malformed_json_is_400(stack: Stack) -> None:
    response = post_webhook(stack, b"{not json")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]
