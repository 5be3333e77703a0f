"""Two Rasa replicas behind nginx share a PostgreSQL tracker store and a Redis lock store."""

from __future__ import annotations

import signal

import httpx
import pytest

from tests.production.conftest import ProductionStack
from tests.production.patients import (
    post,
    send,
    serving_replica,
    stored_user_texts,
    topic_of,
)
from tests.stack import dump, texts

pytestmark = [pytest.mark.integration, pytest.mark.production]


def test_conversation_alternating_between_replicas_keeps_its_context(
    production: ProductionStack,
) -> None:
    sender = "alternating-patient"
    first = send(production.url("rasa_a"), sender, "how many sessions do I need?")
    assert topic_of(first) == "number_of_sessions", dump(first)
    # The follow-up only makes sense with the previous topic, which lives in PostgreSQL.
    second = send(production.url("rasa_b"), sender, "and how long is each one?")
    assert topic_of(second) == "session_duration", dump(second)
    third = send(production.url("rasa_a"), sender, "can I go to the sauna after?")
    assert topic_of(third) == "aftercare", dump(third)
    assert stored_user_texts(production, sender) == [
        "how many sessions do I need?",
        "and how long is each one?",
        "can I go to the sauna after?",
    ]


def test_killing_a_replica_loses_no_acknowledged_message(production: ProductionStack) -> None:
    sender = "failover-patient"
    acknowledged = []
    for message in ("what is mesotherapy?", "does it hurt?"):
        reply = post(production.nginx.url, sender, message)
        assert texts(reply.json())
        acknowledged.append(message)
    # Kill the replica that holds this patient's traffic, mid-conversation.
    victim_name = serving_replica(production, reply)
    victim = production.processes.pop(victim_name)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    try:
        for message in ("how many sessions do I need?", "and how long is each one?"):
            reply = send(production.nginx.url, sender, message)
            assert texts(reply), dump(reply)
            acknowledged.append(message)
        assert topic_of(reply) == "session_duration", dump(reply)
        assert stored_user_texts(production, sender) == acknowledged
        assert (
            serving_replica(production, post(production.nginx.url, sender, "thanks")) != victim_name
        )
    finally:
        production.start_replica(victim_name)


def test_staff_app_shows_the_conversation_from_postgresql(production: ProductionStack) -> None:
    sender = "staff-visible-patient"
    send(production.nginx.url, sender, "what are the side effects?")
    production.add_staff_user("prod-admin", "correct horse battery staple", "admin")
    with httpx.Client(base_url=production.staff_url, follow_redirects=True, timeout=20) as client:
        login_page = client.get("/login")
        token = login_page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post(
            "/login",
            data={
                "username": "prod-admin",
                "password": "correct horse battery staple",
                "csrf_token": token,
            },
        )
        transcript = client.get(f"/conversations/{sender}")
    assert transcript.status_code == 200
    assert "what are the side effects?" in transcript.text
