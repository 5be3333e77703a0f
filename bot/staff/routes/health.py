"""GET /health (no login): can the app reach its own database and the tracker store?"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.staff.context import staff_app
from bot.staff.events import has_events_table


def _check(engine: Engine, tracker: bool) -> dict[str, Any]:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        if tracker and not has_events_table(engine):
            return {
                "status": "degraded",
                "reason": "no events table yet: Rasa has not started with the SQL tracker store",
            }
        return {"status": "ok"}
    except Exception as error:  # any failure to connect means degraded, with the reason
        # The class name only: messages can contain the database URL and its password.
        return {"status": "degraded", "reason": f"cannot connect ({type(error).__name__})"}


async def health(request: Request) -> Response:
    staff = staff_app(request)
    checks = {
        "app_db": await run_in_threadpool(_check, staff.app_engine, False),
        "tracker_db": await run_in_threadpool(_check, staff.tracker_engine, True),
    }
    overall = "ok" if all(c["status"] == "ok" for c in checks.values()) else "degraded"
    return JSONResponse({"status": overall, "service": "staff", "checks": checks})


routes = [Route("/health", health, methods=["GET"])]
