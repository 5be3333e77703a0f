"""Two Rasa replicas behind nginx share a PostgreSQL tracker store and a Redis lock store."""

from __future__ import annotations

import json
import signal

import httpx
import pytest
import sqlalchemy as sa

from tests.production.conftest import REPLICAS, ProductionStack
from tests.stack import dump, texts

pytestmark = [pytest.mark.integration, pytest.mark.production]


def post(url: str, sender: str, message: str) -> httpx.Response:
    reply = httpx.post(
        f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=60
    )
    reply.raise_for_status()
    return reply


def send(url: str, sender: str, message: str) -> list[dict]:
    return post(url, sender, message).json()


def serving_replica(production: ProductionStack, reply: httpx.Response) -> str:
    port = int(reply.headers["X-Upstream"].rsplit(":", 1)[1])
    return next(name for name in REPLICAS if production.ports[name] == port)


def topic_of(messages: list[dict]) -> str | None:
    for message in messages:
        data = (message.get("custom") or {}).get("data") or {}
        if data.get("kind") == "answer_meta":
            return data["topic"]
    return None


def stored_user_texts(production: ProductionStack, sender: str) -> list[str]:
    engine = sa.create_engine(production.postgres.url())
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT data FROM events WHERE sender_id = :s AND type_name = 'user' ORDER BY id"
            ),
            {"s": sender},
        ).fetchall()
    engine.dispose()
    return [json.loads(row[0])["text"] for row in rows]


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
