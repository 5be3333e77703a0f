"""`create_app()`: the staff web app (Starlette, server-rendered with Jinja2).

`python -m bot serve staff` runs it under uvicorn on $MESO_STAFF_PORT (8000).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bot.config import Settings
from bot.db import engine_for
from bot.staff.auth import UserStore
from bot.staff.config import StaffConfig
from bot.staff.context import StaffApp
from bot.staff.events import tracker_engine
from bot.staff.middleware import StaffGuard
from bot.staff.retention import retention_task
from bot.staff.routes import admin, conversations, dashboard, handoffs, health, login, nlu
from bot.staff.routes import takeover as takeover_routes
from bot.staff.sessions import SessionStore
from bot.staff.store import ConversationStore, feed_task
from bot.staff.takeover import TakeoverConfig, Takeovers, idle_task
from bot.staff.views import build_environment, render

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    settings: Settings | None = None,
    config: StaffConfig | None = None,
    takeover: TakeoverConfig | None = None,
) -> Starlette:
    """Build the app from the project settings (or an explicit StaffConfig in tests)."""
    config = config or StaffConfig.from_settings(settings)
    app_engine = engine_for(config.app_db_url)  # creates our tables if needed
    tracker = tracker_engine(config.tracker_db_url)
    sessions = SessionStore(app_engine, config.secret_key, config.idle_minutes)
    staff = StaffApp(
        config=config,
        app_engine=app_engine,
        tracker_engine=tracker,
        index=ConversationStore(app_engine, tracker, config.secret_key),
        sessions=sessions,
        users=UserStore(app_engine),
    )
    takeovers = Takeovers(app_engine, tracker, takeover or TakeoverConfig.from_settings(settings))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        sessions.delete_expired()
        # Every staff-app process runs the takeover idle check; the database decides
        # which one hands a conversation back.
        async with feed_task(staff.index), idle_task(takeovers):
            if not config.run_retention_task:
                yield
                return
            async with retention_task(
                app_engine, tracker, config.retention_days, config.secret_key
            ):
                yield

    routes = [
        *dashboard.routes,
        *login.routes,
        *conversations.routes,
        *nlu.routes,
        *handoffs.routes,
        *takeover_routes.routes,
        *admin.routes,
        *health.routes,
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(StaffGuard, sessions=sessions)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.staff = staff
    app.state.takeovers = takeovers
    app.state.jinja = build_environment()
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.scope.get("state", {}).get("user") is None:
        return Response(exc.detail, status_code=exc.status_code, media_type="text/plain")
    return render(request, "error.html", status_code=exc.status_code, message=exc.detail)
