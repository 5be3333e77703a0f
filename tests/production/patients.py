"""What a patient does against the production stack, and what ends up in PostgreSQL.

Requests through nginx can come from any loopback address (127.0.0.0/8): nginx's
per-address rate limit and its replica hashing see each as a different patient, so
one test's burst doesn't throttle the next test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import sqlalchemy as sa

from tests.production.conftest import REPLICAS, ProductionStack

TIMEOUT_S = 60


async def wait_for(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Poll ``condition`` every 0.1 s; fail with ``what`` after ``seconds``."""
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} within {seconds:.0f} s")


def client(source: str = "127.0.0.1") -> httpx.Client:
    """An https client (nginx's certificate is self-signed) from one loopback address."""
    transport = httpx.HTTPTransport(local_address=source, verify=False)
    return httpx.Client(transport=transport, verify=False, timeout=TIMEOUT_S)


def post(url: str, sender: str, message: str, source: str = "127.0.0.1") -> httpx.Response:
    with client(source) as http:
        reply = http.post(
            f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}
        )
    reply.raise_for_status()
    return reply


def send(url: str, sender: str, message: str, source: str = "127.0.0.1") -> list[dict]:
    return post(url, sender, message, source).json()


def serving_replica(production: ProductionStack, reply: httpx.Response) -> str:
    """The replica that answered a request through nginx, from nginx's access log."""
    port = int(production.nginx.upstreams(reply.headers["x-request-id"])[-1].rsplit(":", 1)[1])
    return next(name for name in REPLICAS if production.ports[name] == port)


def topic_of(messages: list[dict]) -> str | None:
    for message in messages:
        data = (message.get("custom") or {}).get("data") or {}
        if data.get("kind") == "answer_meta":
            return data["topic"]
    return None


def stored_events(production: ProductionStack, sender: str) -> list[dict]:
    """The conversation's events in PostgreSQL, in the order they were stored."""
    engine = sa.create_engine(production.postgres.url())
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"),
                {"s": sender},
            ).fetchall()
    finally:
        engine.dispose()
    return [json.loads(row[0]) for row in rows]


def stored_user_texts(production: ProductionStack, sender: str) -> list[str]:
    return [e["text"] for e in stored_events(production, sender) if e["event"] == "user"]
