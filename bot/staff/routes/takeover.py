"""Live takeover routes: take over, send, typing, hand back, and the live feed (JSON poll).

Reviewers and admins only; viewers see who holds a conversation but can't act. The
transcript page's takeover panel (`_takeover.html`, static/takeover.js) calls these with
fetch and the session's CSRF header; without JavaScript the forms still work and
redirect back to the conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.clinic_hours import OpeningHours
from bot.staff.context import client_ip, current_user
from bot.staff.models import utcnow
from bot.staff.routes.conversations import _resolve
from bot.staff.takeover import TakeoverError, Takeovers
from bot.staff.views import iso, require


def takeovers(request: Request) -> Takeovers:
    return request.app.state.takeovers  # type: ignore[no-any-return]


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _back(request: Request, **query: str) -> Response:
    path = "/conversations/" + quote(request.path_params["key"], safe="")
    query_string = "&".join(f"{k}={v}" for k, v in query.items())
    return RedirectResponse(
        f"{path}?{query_string}#takeover" if query_string else f"{path}#takeover", 303
    )


def _failed(request: Request, exc: TakeoverError) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    # The panel shows the holder and the window itself; the code picks a fixed message.
    return _back(request, error=f"takeover_{type(exc).__name__}")


def state(takeovers: Takeovers, sender_id: str, username: str) -> dict[str, Any]:
    """What the takeover panel shows: holder, whether it's you, WhatsApp window."""
    holder = takeovers.holder(sender_id)
    window = takeovers.window(sender_id)
    return {
        "enabled": takeovers.config.enabled,
        "held": holder is not None,
        "held_by": holder.held_by if holder else None,
        "title": holder.title if holder else None,
        "since": iso(holder.started_at) if holder else None,
        "mine": holder is not None and holder.held_by == username,
        "whatsapp": None
        if window is None
        else {
            "open": window.open,
            "seconds_left": window.seconds_left,
            "last_message_at": iso(window.last_inbound),
            "reason": window.reason,
        },
        "idle_seconds": takeovers.config.idle_seconds,
        "clinic": clinic_hours_state(takeovers.config.opening_hours, utcnow()),
    }


def clinic_hours_state(hours: OpeningHours | None, now: datetime) -> dict[str, Any] | None:
    """Whether the clinic is open now, for the note next to "Take over"; None when
    clinic.yml has no opening_hours. Staff may still take over when it is closed."""
    if hours is None:
        return None
    return {
        "open": hours.is_open(now),
        "hours": hours.describe(),
        "next_opening": hours.describe_opening(now),
    }


def panel(request: Request, sender_id: str) -> dict[str, Any]:
    """The transcript page's takeover panel: state, titles and where the feed starts."""
    service = takeovers(request)
    data = state(service, sender_id, current_user(request).username)
    holder = service.holder(sender_id)
    data.update(
        since_dt=holder.started_at if holder else None,
        titles=service.config.titles,
        after=service.last_event_id(sender_id),
    )
    return data


async def _act(
    request: Request,
    field: str,
    act: Callable[[Takeovers, str, str, str, str | None], Awaitable[object]],
    **back: str,
) -> Response:
    """Run one takeover action with a form field's value, then answer JSON (takeover.js)
    or redirect back to the panel (no JavaScript)."""
    _staff, sender_id, _summary = await run_in_threadpool(_resolve, request)
    form = await request.form()
    user = current_user(request)
    try:
        value = str(form.get(field) or "")
        await act(takeovers(request), sender_id, user.username, value, client_ip(request))
    except TakeoverError as exc:
        return _failed(request, exc)
    if _wants_json(request):
        return JSONResponse({"ok": True})
    return _back(request, **back)


@require("reviewer")
async def take_over(request: Request) -> Response:
    return await _act(request, "title", Takeovers.take_over, notice="taken_over")


@require("reviewer")
async def send_message(request: Request) -> Response:
    return await _act(request, "text", Takeovers.send)


@require("reviewer")
async def typing(request: Request) -> Response:
    _staff, sender_id, _summary = await run_in_threadpool(_resolve, request)
    try:
        await takeovers(request).typing(sender_id, current_user(request).username)
    except TakeoverError as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    return JSONResponse({"ok": True})


@require("reviewer")
async def hand_back(request: Request) -> Response:
    _staff, sender_id, _summary = await run_in_threadpool(_resolve, request)
    user = current_user(request)
    try:
        # An admin can free a conversation a colleague left held.
        await takeovers(request).hand_back(
            sender_id, user.username, force=user.is_admin, ip=client_ip(request)
        )
    except TakeoverError as exc:
        return _failed(request, exc)
    if _wants_json(request):
        return JSONResponse({"ok": True})
    return _back(request, notice="handed_back")


@require("reviewer")
async def live(request: Request) -> Response:
    """New messages since `after` (an event id) plus the takeover state: polled."""
    _staff, sender_id, _summary = await run_in_threadpool(_resolve, request)
    try:
        after = max(0, int(request.query_params.get("after", "0")))
    except ValueError:
        return JSONResponse({"error": "after must be an event id (a number)"}, status_code=400)
    service = takeovers(request)
    user = current_user(request)
    items = await run_in_threadpool(service.feed, sender_id, after)
    panel = await run_in_threadpool(state, service, sender_id, user.username)
    return JSONResponse({"events": items, "takeover": panel})


routes = [
    Route("/conversations/{key}/takeover", take_over, methods=["POST"]),
    Route("/conversations/{key}/takeover/messages", send_message, methods=["POST"]),
    Route("/conversations/{key}/takeover/typing", typing, methods=["POST"]),
    Route("/conversations/{key}/takeover/release", hand_back, methods=["POST"]),
    Route("/conversations/{key}/live.json", live, methods=["GET"]),
]
