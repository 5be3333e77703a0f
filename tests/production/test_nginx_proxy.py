"""Patients through the deployed nginx configuration: the widget's socket.io
conversation (long-polling upgraded to a WebSocket) and the per-address rate limit.
The failover of a killed replica is in test_replicas.py."""

from __future__ import annotations

import aiohttp
import pytest
import socketio

from tests.production.conftest import ProductionStack
from tests.production.patients import client, stored_user_texts, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.production]


async def test_widget_conversation_over_socketio_through_nginx(
    production: ProductionStack,
) -> None:
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.21", 0), ssl=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        # The widget's defaults: long-polling first, then upgraded to a WebSocket.
        sio = socketio.AsyncClient(reconnection=False, http_session=http, ssl_verify=False)
        confirmed: list[str] = []
        replies: list[dict] = []
        sio.on("session_confirm", confirmed.append)
        sio.on("bot_uttered", replies.append)
        await sio.connect(production.nginx.url, socketio_path="/socket.io")
        try:
            await sio.emit("session_request", {"session_id": None})
            await wait_for(lambda: confirmed, 20, "no session_confirm")
            session_id = confirmed[-1]
            await sio.emit(
                "user_uttered",
                {"message": "how many sessions do I need?", "session_id": session_id},
            )
            await wait_for(
                lambda: "Sources:" in " ".join(r.get("text") or "" for r in replies),
                60,
                f"no answer over socket.io: {replies}",
            )
            # nginx passed the Upgrade: the session now runs on a WebSocket.
            await wait_for(lambda: sio.transport() == "websocket", 20, "no WebSocket upgrade")
        finally:
            await sio.disconnect()
    assert stored_user_texts(production, session_id) == ["how many sessions do I need?"]


def test_rate_limit_answers_429_per_client_address(production: ProductionStack) -> None:
    # GET /webhooks/rest/ is the REST channel's status route: cheap, and limited by
    # the same limit_req as the messages (burst 20, then 2 per second).
    url = f"{production.nginx.url}/webhooks/rest/"
    with client("127.0.0.22") as flooding:
        statuses = [flooding.get(url).status_code for _ in range(40)]
        limited = flooding.get(url)
    assert statuses[:20] == [200] * 20, statuses
    assert statuses.count(429) >= 15, statuses
    assert set(statuses) == {200, 429}, statuses
    assert limited.status_code == 429
    # Another address is not throttled by the first one's flood.
    with client("127.0.0.23") as other:
        assert other.get(url).status_code == 200
