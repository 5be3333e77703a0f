"""Admin pages: the audit log and the staff user list."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.staff import audit
from bot.staff.auth import AccountError
from bot.staff.context import audit_request, current_user, staff_app
from bot.staff.views import csv_response, iso, render, require

AUDIT_COLUMNS = ("at", "actor", "action", "target", "detail", "ip")


def _audit_query(request: Request) -> audit.AuditQuery:
    params = request.query_params
    try:
        page = max(1, int(params.get("page") or 1))
    except ValueError:
        page = 1
    return audit.AuditQuery(
        actor=(params.get("actor") or "").strip()[:64],
        action=(params.get("action") or "").strip()[:40],
        target=(params.get("target") or "").strip()[:255],
        page=page,
    )


@require("admin")
async def audit_log(request: Request) -> Response:
    staff = staff_app(request)
    query = _audit_query(request)
    rows, total = await run_in_threadpool(audit.search, staff.app_engine, query)
    actions = await run_in_threadpool(audit.actions, staff.app_engine)
    base = {
        k: v
        for k, v in (("actor", query.actor), ("action", query.action), ("target", query.target))
        if v
    }
    pages = max(1, math.ceil(total / query.size))
    return render(
        request,
        "audit.html",
        rows=rows,
        total=total,
        query=query,
        actions=actions,
        pages=pages,
        page_query=lambda n: "?" + urlencode({**base, "page": n}),
        filter_query=lambda **change: (
            "?" + urlencode({k: v for k, v in {**base, **change}.items() if v})
        ),
        csv_query="?" + urlencode(base) if base else "",
    )


@require("admin")
async def audit_csv(request: Request) -> Response:
    staff = staff_app(request)
    query = _audit_query(request)
    query = audit.AuditQuery(query.actor, query.action, query.target, page=1, size=100_000)
    rows, _total = await run_in_threadpool(audit.search, staff.app_engine, query)
    audit_request(request, "export_audit", None, {"rows": len(rows)})
    return csv_response(
        "audit.csv",
        AUDIT_COLUMNS,
        (
            {
                "at": iso(r.at),
                "actor": r.actor,
                "action": r.action,
                "target": r.target,
                "detail": r.detail,
                "ip": r.ip,
            }
            for r in rows
        ),
    )


@require("admin")
async def users(request: Request) -> Response:
    staff = staff_app(request)
    accounts = await run_in_threadpool(staff.users.all)
    return render(request, "users.html", accounts=accounts)


@require("admin")
async def set_active(request: Request) -> Response:
    staff = staff_app(request)
    username = request.path_params["username"]
    form = await request.form()
    active = form.get("active") == "1"
    if username == current_user(request).username and not active:
        return RedirectResponse("/admin/users?error=self", status_code=303)
    try:
        await run_in_threadpool(staff.users.set_active, username, active)
    except AccountError:
        raise HTTPException(404, "No such user.") from None
    audit_request(request, "enable_user" if active else "disable_user", f"user:{username}")
    return RedirectResponse("/admin/users?notice=user_updated", status_code=303)


routes = [
    Route("/admin/audit", audit_log, methods=["GET"]),
    Route("/admin/audit.csv", audit_csv, methods=["GET"]),
    Route("/admin/users", users, methods=["GET"]),
    Route("/admin/users/{username}/active", set_active, methods=["POST"]),
]
