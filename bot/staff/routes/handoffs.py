"""The handoff queue: urgent first, then oldest; open -> contacted -> closed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.db import session_scope
from bot.handoff import HandoffNotFound, HandoffRepository, HandoffRequest
from bot.staff.auth import CurrentUser
from bot.staff.context import StaffApp, audit_request, current_user, staff_app
from bot.staff.conversations import conversation_ref
from bot.staff.views import conversation_url, csv_response, iso, json_response, render, require

VIEWS = {
    "active": ("open", "contacted"),
    "open": ("open",),
    "contacted": ("contacted",),
    "closed": ("closed",),
    "all": ("open", "contacted", "closed"),
}
# Where each status may go next. Reopening covers a patient who could not be reached.
TRANSITIONS = {
    "open": ("contacted", "closed"),
    "contacted": ("closed", "open"),
    "closed": ("open",),
}
CSV_COLUMNS = (
    "reference",
    "created_at",
    "urgency",
    "reason",
    "status",
    "status_changed_by",
    "status_changed_at",
    "channel",
    "contact_name",
    "contact_channel",
    "contact_value",
    "contact_time",
    "consent_at",
    "conversation_url",
)
CONTACT_FIELDS = ("contact_name", "contact_channel", "contact_value", "contact_time")


def _view(request: Request) -> str:
    view = request.query_params.get("status", "active")
    return view if view in VIEWS else "active"


def _row(staff: StaffApp, item: HandoffRequest, user: CurrentUser) -> dict[str, Any]:
    ref = conversation_ref(staff.config.secret_key, item.sender_id)
    row: dict[str, Any] = {
        "id": item.id,
        "reference": item.reference,
        "created_at": iso(item.created_at),
        "created": item.created_at,
        "urgency": item.urgency,
        "reason": item.reason,
        "status": item.status,
        "status_changed_by": item.status_changed_by,
        "status_changed_at": iso(item.status_changed_at),
        "changed": item.status_changed_at,
        "channel": item.channel,
        "has_contact": item.has_contact,
        "consent_at": iso(item.consent_at),
        "conversation_url": conversation_url(item.sender_id, ref, user),
        "next_statuses": TRANSITIONS.get(item.status, ()),
    }
    for name in CONTACT_FIELDS:
        value = getattr(item, name)
        row[name] = value if user.sees_contacts else ("hidden" if value else None)
    return row


def _queue(request: Request) -> dict[str, Any]:
    staff = staff_app(request)
    user = current_user(request)
    view = _view(request)
    items = HandoffRepository(staff.app_engine).list_queue(VIEWS[view])
    return {"view": view, "rows": [_row(staff, item, user) for item in items]}


async def queue(request: Request) -> Response:
    data = await run_in_threadpool(_queue, request)
    audit_request(request, "view_handoffs", None, {"status": data["view"]})
    counts = await run_in_threadpool(_counts, staff_app(request))
    return render(request, "handoffs.html", views=VIEWS, counts=counts, **data)


def _counts(staff: StaffApp) -> dict[str, int]:
    with session_scope(staff.app_engine) as session:
        by_status = dict(
            session.execute(
                sa.select(HandoffRequest.status, sa.func.count()).group_by(HandoffRequest.status)
            ).all()
        )
    return {
        view: sum(int(by_status.get(status, 0)) for status in statuses)
        for view, statuses in VIEWS.items()
    }


@require("reviewer")
async def queue_json(request: Request) -> Response:
    data = await run_in_threadpool(_queue, request)
    audit_request(request, "export_handoffs", None, {"format": "json", "status": data["view"]})
    rows = [
        {k: v for k, v in row.items() if k not in ("created", "changed")} for row in data["rows"]
    ]
    return json_response({"status": data["view"], "total": len(rows), "rows": rows})


@require("reviewer")
async def queue_csv(request: Request) -> Response:
    data = await run_in_threadpool(_queue, request)
    audit_request(
        request,
        "export_handoffs",
        None,
        {"format": "csv", "status": data["view"], "rows": len(data["rows"])},
    )
    return csv_response("handoffs.csv", CSV_COLUMNS, data["rows"])


@require("reviewer")
async def change_status(request: Request) -> Response:
    staff = staff_app(request)
    request_id = request.path_params["request_id"]
    form = await request.form()
    new_status = str(form.get("status") or "")
    view = str(form.get("view") or "active")
    back = "/handoffs?" + urlencode({"status": view if view in VIEWS else "active"})
    repository = HandoffRepository(staff.app_engine)
    current = await run_in_threadpool(repository.get, request_id)
    if current is None:
        raise HTTPException(404, "No handoff request with that id.")
    if new_status not in TRANSITIONS.get(current.status, ()):
        return RedirectResponse(back + "&error=bad_status", status_code=303)
    user = current_user(request)
    try:
        await run_in_threadpool(
            lambda: repository.set_status(request_id, new_status, by=user.username)
        )
    except HandoffNotFound:
        raise HTTPException(404, "No handoff request with that id.") from None
    audit_request(
        request,
        "handoff_status",
        f"handoff:{current.reference}",
        {"from": current.status, "to": new_status, "id": request_id},
    )
    return RedirectResponse(back + f"&notice=status#h{request_id}", status_code=303)


routes = [
    Route("/handoffs", queue, methods=["GET"]),
    Route("/handoffs.json", queue_json, methods=["GET"]),
    Route("/handoffs.csv", queue_csv, methods=["GET"]),
    Route("/handoffs/{request_id:int}/status", change_status, methods=["POST"]),
]
