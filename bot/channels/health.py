"""``GET /health`` on the Rasa server: ok or degraded, with reasons.

A Rasa channel connector is the supported way to add routes to the Rasa server, so
the health check lives here (registered in credentials.yml).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.rasa_ext.health import HEALTH

ACTION_SERVER_TIMEOUT_S = 1.0


async def _action_server_check(request: Request) -> dict[str, Any]:
    agent = getattr(request.app.ctx, "agent", None)
    endpoint = getattr(agent, "action_endpoint", None) if agent else None
    if endpoint is None or not endpoint.url:
        return {"status": "degraded", "reason": "no action endpoint configured"}
    health_url = endpoint.url.rsplit("/webhook", 1)[0] + "/health"
    try:
        timeout = aiohttp.ClientTimeout(total=ACTION_SERVER_TIMEOUT_S)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(health_url) as reply,
        ):
            if reply.status == 200:
                return {"status": "ok"}
            return {"status": "degraded", "reason": f"action server answered {reply.status}"}
    except Exception as error:  # unreachable in any way means degraded
        return {
            "status": "degraded",
            "reason": f"action server unreachable ({type(error).__name__}); "
            "patients get the apology response with the clinic's phone",
        }


def public_tracker_report() -> dict[str, Any]:
    """The tracker store's health without the raw error, which can quote bound
    parameters (sender ids, message texts) or the database URL; the CRITICAL log line
    in the server log keeps the details."""
    report = dict(HEALTH.report())
    last_error = report.pop("last_error", None)
    if last_error:
        report["last_error_type"] = str(last_error).split(":", 1)[0].strip()[:80]
    return report


async def health_report(request: Request) -> dict[str, Any]:
    agent = getattr(request.app.ctx, "agent", None)
    model_ready = bool(agent and agent.is_ready())
    checks = {
        "model": {"status": "ok"} if model_ready else {"status": "degraded", "reason": "no model"},
        "tracker_store": public_tracker_report(),
        "action_server": await _action_server_check(request),
    }
    overall = "ok" if all(c["status"] == "ok" for c in checks.values()) else "degraded"
    return {"status": overall, "service": "rasa", "checks": checks}


class HealthInput(InputChannel):
    """Adds GET /health to the Rasa server; handles no messages."""

    @classmethod
    def name(cls) -> str:
        return "health"

    def url_prefix(self) -> str:
        return "/"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        health = Blueprint("meso_health", __name__)

        @health.route("/health", methods=["GET"])
        async def report(request: Request) -> HTTPResponse:
            return response.json(await health_report(request))

        return health
