"""NLU inbox: low-confidence and fallback messages, decisions, and the YAML export."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.contract import FALLBACK_INTENT
from bot.staff import nlu_inbox
from bot.staff.context import audit_request, current_user, staff_app
from bot.staff.conversations import load_user_events
from bot.staff.nlu_export import export_corrections
from bot.staff.nlu_inbox import InboxError, InboxQuery
from bot.staff.redact import redact
from bot.staff.views import conversation_url, render, require

PAGE_SIZE = 50


def _query(request: Request) -> InboxQuery:
    params = request.query_params
    default = staff_app(request).config.nlu_threshold
    try:
        threshold = float(params.get("threshold") or default)
    except ValueError:
        threshold = default
    status = params.get("status", "pending")
    return InboxQuery(
        threshold=min(max(threshold, 0.0), 1.0),
        status=status if status in nlu_inbox.STATUSES else "pending",
        intent=(params.get("intent") or "").strip()[:120],
    )


def _inbox(request: Request) -> dict[str, Any]:
    staff = staff_app(request)
    user = current_user(request)
    query = _query(request)
    staff.index.refresh()
    try:
        page = max(1, int(request.query_params.get("page") or 1))
    except ValueError:
        page = 1
    with staff.app_engine.connect() as conn:
        total = nlu_inbox.count_messages(conn, query)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(page, pages)
        shown = nlu_inbox.select_messages(conn, query, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    corrections = nlu_inbox.corrections_for(staff.app_engine, shown)
    events = load_user_events(staff.tracker_engine, [m.event_id for m in shown])
    domain = staff.domain
    items = []
    for message in shown:
        event = events.get(message.event_id)
        items.append(
            {
                "message": message,
                "event": event,
                "guess": nlu_inbox.classifier_guess(event, domain) if event else None,
                "correction": corrections.get((message.sender_id, message.event_id)),
                "url": conversation_url(message.sender_id, message.ref, user),
            }
        )
    if not user.sees_contacts:
        items = [
            {**item, "message": redact(item["message"]), "event": redact(item["event"])}
            for item in items
        ]
    base = {"threshold": f"{query.threshold:g}", "status": query.status, "intent": query.intent}
    return {
        "query": query,
        "items": items,
        "total": total,
        "page": page,
        "pages": pages,
        "page_query": lambda n: "?" + urlencode({**base, "page": n}),
        "status_query": lambda s: "?" + urlencode({**base, "status": s, "page": 1}),
        "intents": domain.correctable_intents,
        "fallback_intent": FALLBACK_INTENT,
        "back": request.url.path + ("?" + request.url.query if request.url.query else ""),
    }


async def inbox(request: Request) -> Response:
    data = await run_in_threadpool(_inbox, request)
    return render(request, "nlu_inbox.html", **data)


def _safe_back(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/nlu"


def _with(url: str, **params: str) -> str:
    path, _, fragment = url.partition("#")
    joiner = "&" if "?" in path else "?"
    return path + joiner + urlencode(params) + (f"#{fragment}" if fragment else "")


@require("reviewer")
async def decide(request: Request) -> Response:
    staff = staff_app(request)
    form = await request.form()
    back = _safe_back(str(form.get("back") or ""))
    sender_id = str(form.get("sender_id") or "")
    try:
        event_id = int(str(form.get("event_id") or ""))
    except ValueError:
        raise HTTPException(400, "event_id must be a number") from None
    dismiss = form.get("decision") == "dismiss"
    intent = str(form.get("intent") or "") or None
    try:
        correction = await run_in_threadpool(
            lambda: nlu_inbox.decide(
                staff.app_engine,
                staff.tracker_engine,
                staff.domain,
                sender_id=sender_id,
                event_id=event_id,
                intent=intent,
                dismiss=dismiss,
                by=current_user(request).username,
            )
        )
    except InboxError as error:
        code = "gone" if "no longer exists" in str(error) else "bad_intent"
        return RedirectResponse(_with(back, error=code), status_code=303)
    audit_request(
        request,
        f"nlu_{correction.status}",
        sender_id,
        {
            "event_id": event_id,
            "intent": correction.intent,
            "predicted": correction.predicted_intent,
        },
    )
    return RedirectResponse(_with(back, notice="decided"), status_code=303)


@require("reviewer")
async def undo(request: Request) -> Response:
    staff = staff_app(request)
    form = await request.form()
    back = _safe_back(str(form.get("back") or ""))
    try:
        correction_id = int(str(form.get("correction_id") or ""))
    except ValueError:
        raise HTTPException(400, "correction_id must be a number") from None
    removed = await run_in_threadpool(nlu_inbox.undo, staff.app_engine, correction_id)
    if removed is not None:
        audit_request(request, "nlu_undo", removed.sender_id, {"event_id": removed.event_id})
    return RedirectResponse(_with(back, notice="undone"), status_code=303)


@require("reviewer")
async def export_yaml(request: Request) -> Response:
    staff = staff_app(request)
    result = await run_in_threadpool(
        export_corrections, staff.app_engine, staff.project_root, staff.domain
    )
    audit_request(
        request,
        "export_nlu",
        None,
        {"examples": result.examples, "intents": result.intents},
    )
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")
    return Response(
        result.text,
        media_type="application/x-yaml; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="staff_corrections-{stamp}.yml"'},
    )


routes = [
    Route("/nlu", inbox, methods=["GET"]),
    Route("/nlu/decide", decide, methods=["POST"]),
    Route("/nlu/undo", undo, methods=["POST"]),
    Route("/nlu/export.yml", export_yaml, methods=["GET"]),
]
