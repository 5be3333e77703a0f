"""Widget messages across Rasa replicas: socket.io emits go through Redis.

A staff message reaches Rasa through its HTTP API on whichever replica nginx picks,
while the patient's socket lives on one replica. With MESO_REDIS_HOST set, the
socketio channel shares its emits through Redis (bot.channels.guarded), so the
patient gets the message either way.
"""

from __future__ import annotations

import httpx
import pytest
import socketio

from bot.contract import STAFF_METADATA_KEY, STAFF_TYPING_EVENT, TAKEOVER_OUTPUT_CHANNEL
from tests.production.conftest import RASA_API_TOKEN, ProductionStack
from tests.production.patients import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.production]


async def test_a_staff_message_sent_through_replica_b_reaches_a_socket_on_replica_a(
    production: ProductionStack,
) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    confirmed: list[str] = []
    replies: list[dict] = []
    typing: list[dict] = []
    sio.on("session_confirm", confirmed.append)
    sio.on("bot_uttered", replies.append)
    sio.on(STAFF_TYPING_EVENT, typing.append)
    # Straight to replica A, so the socket is certainly there and not on B.
    await sio.connect(production.url("rasa_a"), transports=["websocket"])
    try:
        await sio.emit("session_request", {"session_id": None})
        await wait_for(lambda: confirmed, 20, "no session_confirm")
        session_id = confirmed[-1]
        staff = {"username": "alice", "title": "nurse"}
        async with httpx.AsyncClient(base_url=production.url("rasa_b"), timeout=60) as rasa_b:
            # What the staff app does (bot.staff.takeover.RasaAPI), against replica B.
            typed = await rasa_b.post(
                f"/webhooks/{TAKEOVER_OUTPUT_CHANNEL}/typing",
                json={"sender_id": session_id, "typing": True},
                headers={"authorization": f"Bearer {RASA_API_TOKEN}"},
            )
            assert typed.json() == {"sent": True}, typed.text
            appended = await rasa_b.post(
                f"/conversations/{session_id}/tracker/events",
                params={
                    "token": RASA_API_TOKEN,
                    "output_channel": TAKEOVER_OUTPUT_CHANNEL,
                    "execute_side_effects": "true",
                    "include_events": "NONE",
                },
                json=[
                    {
                        "event": "bot",
                        "text": "Hello, this is the nurse.",
                        "metadata": {STAFF_METADATA_KEY: staff},
                    }
                ],
            )
            assert appended.status_code == 200, appended.text
        await wait_for(lambda: typing, 20, "no staff_typing event on replica A")
        await wait_for(
            lambda: any(r.get("text") == "Hello, this is the nurse." for r in replies),
            20,
            f"no staff message on replica A's socket: {replies}",
        )
    finally:
        await sio.disconnect()
    # Exactly once: the replica that sent it did not also deliver a second copy.
    assert [r.get("text") for r in replies].count("Hello, this is the nurse.") == 1
