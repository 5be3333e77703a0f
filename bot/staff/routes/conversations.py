"""Conversation list (with .json/.csv twins), transcript permalink, and review actions."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.staff import annotations
from bot.staff.annotations import (
    AnnotationError,
    ConversationMarks,
    HandoffMark,
    all_tags,
    load_detail,
    load_marks,
)
from bot.staff.auth import CurrentUser
from bot.staff.context import StaffApp, audit_request, current_user, staff_app
from bot.staff.conversations import Turn, build_transcript, hide_form_answers, load_events
from bot.staff.facts_lookup import facts_for_turns
from bot.staff.filters import (
    SORTS,
    ConversationFilter,
    ListQuery,
    facet_counts,
    facets,
    handoff_state_of,
)
from bot.staff.nlu_inbox import classifier_guess
from bot.staff.redact import redact, redact_text
from bot.staff.store import ConversationRow, conversation_row
from bot.staff.views import (
    conversation_label,
    conversation_url,
    csv_response,
    iso,
    json_response,
    render,
    require,
)

CSV_COLUMNS = (
    "sender_id",
    "channel",
    "first_at",
    "last_at",
    "user_messages",
    "intents",
    "min_confidence",
    "fallback",
    "handoff",
    "reviewed",
    "reviewed_by",
    "tags",
    "flags",
    "notes",
    "first_message",
    "url",
)
EXPORT_CHUNK = 500  # conversations per read of a streamed export


def _row(
    summary: ConversationRow, handoff: str, marks: ConversationMarks, user: CurrentUser
) -> dict[str, Any]:
    review = marks.reviewed.get(summary.sender_id)
    first_message = summary.first_text
    return {
        "sender_id": conversation_label(summary.sender_id, summary.ref, user),
        "url": conversation_url(summary.sender_id, summary.ref, user),
        "channel": summary.channel,
        "first_ts": summary.first_ts,
        "last_ts": summary.last_ts,
        "first_at": iso(summary.first_ts),
        "last_at": iso(summary.last_ts),
        "user_messages": summary.user_message_count,
        "intents": summary.intents,
        "min_confidence": summary.min_confidence,
        "fallback": summary.fallback,
        "handoff": handoff,
        "reviewed": review is not None,
        "reviewed_by": review[0] if review else None,
        "tags": sorted(marks.tags.get(summary.sender_id, ())),
        "flags": marks.flags.get(summary.sender_id, 0),
        "notes": marks.notes.get(summary.sender_id, 0),
        "first_message": first_message if user.sees_contacts else redact_text(first_message),
    }


def _rows(
    conn: Connection, staff: StaffApp, found: Sequence[Any], user: CurrentUser
) -> list[dict[str, Any]]:
    """List rows for a page (or an export chunk) of conversations: intents and marks
    are read for these conversations only."""
    marks = load_marks(staff.app_engine, [r.sender_id for r in found])
    return [_row(conversation_row(r), r.handoff, marks, user) for r in found]


def _list_query(request: Request) -> tuple[StaffApp, ListQuery, list[str]]:
    staff = staff_app(request)
    staff.index.refresh()
    flt, errors = ConversationFilter.from_params(request.query_params)
    redacted = not current_user(request).sees_contacts
    query = ListQuery.build(flt, staff.config.tz, staff.app_engine.dialect.name, redacted)
    return staff, query, errors


def _query(request: Request) -> dict[str, Any]:
    staff, query, errors = _list_query(request)
    flt = query.flt
    with staff.app_engine.connect() as conn:
        total, counts = facet_counts(conn, query)
        pages = max(1, math.ceil(total / flt.size))
        page = min(flt.page, pages)
        found = conn.execute(query.select((page - 1) * flt.size, flt.size)).all()
        rows = _rows(conn, staff, found, current_user(request))
    return {
        "filter": flt,
        "errors": errors,
        "total": total,
        "page": page,
        "pages": pages,
        "rows": rows,
        "facets": facets(flt, counts),
        "all_tags": all_tags(staff.app_engine),
    }


async def conversation_list(request: Request) -> Response:
    data = await run_in_threadpool(_query, request)
    return render(request, "conversations.html", sorts=SORTS, **data)


@require("reviewer")
async def conversation_list_json(request: Request) -> Response:
    data = await run_in_threadpool(_query, request)
    flt: ConversationFilter = data["filter"]
    next_url = (
        "/conversations.json" + flt.query(page=data["page"] + 1)
        if data["page"] < data["pages"]
        else None
    )
    audit_request(request, "export_conversations", None, {"format": "json", **flt.params()})
    return json_response(
        {
            "filters": flt.params(),
            "errors": data["errors"],
            "total": data["total"],
            "page": data["page"],
            "pages": data["pages"],
            "next": next_url,
            "rows": [_public(row) for row in data["rows"]],
            "facets": {f.name: {v.value: v.count for v in f.values} for f in data["facets"]},
        }
    )


def _export(request: Request) -> tuple[int, Iterator[dict[str, Any]]]:
    """How many rows match, and the rows, read and written a chunk at a time."""
    staff, query, _errors = _list_query(request)
    user = current_user(request)
    with staff.app_engine.connect() as conn:
        total = query.count(conn)

    def rows() -> Iterator[dict[str, Any]]:
        with staff.app_engine.connect() as conn:
            result = conn.execution_options(stream_results=True).execute(query.select())
            for found in result.partitions(EXPORT_CHUNK):
                for row in _rows(conn, staff, found, user):
                    yield _public(row)

    return total, rows()


@require("reviewer")
async def conversation_list_csv(request: Request) -> Response:
    total, rows = await run_in_threadpool(_export, request)
    flt, _errors = ConversationFilter.from_params(request.query_params)
    # The CSV holds every matching conversation, not one page: it is the export,
    # streamed so that its size never sits in memory.
    audit_request(
        request, "export_conversations", None, {"format": "csv", "rows": total, **flt.params()}
    )
    return csv_response("conversations.csv", CSV_COLUMNS, rows)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in ("first_ts", "last_ts")}


# ------------------------------------------------------------------------ transcript


def _resolve(request: Request) -> tuple[StaffApp, str, ConversationRow | None]:
    staff = staff_app(request)
    staff.index.refresh()
    key = request.path_params["key"]
    # Viewers reach conversations through opaque links; a raw id holding a phone number
    # or email must not work as a lookup (nor say whether it exists).
    viewer = not current_user(request).sees_contacts
    if viewer and not key.startswith("~") and redact_text(key) != key:
        raise HTTPException(404, "No conversation with that id (it may have been deleted).")
    sender_id = staff.index.resolve(key)
    if sender_id is None:
        raise HTTPException(404, "No conversation with that id (it may have been deleted).")
    return staff, sender_id, staff.index.get(sender_id)


def _transcript(request: Request) -> dict[str, Any]:
    staff, sender_id, summary = _resolve(request)
    user = current_user(request)
    turns: list[Turn] = build_transcript(load_events(staff.tracker_engine, sender_id))
    detail = load_detail(staff.app_engine, sender_id)
    ref = summary.ref if summary else ""
    if not user.sees_contacts:
        turns = hide_form_answers(redact(turns))
    return {
        "sender_id": sender_id,
        "label": conversation_label(sender_id, ref, user),
        "url": conversation_url(sender_id, ref, user),
        "summary": summary,
        "turns": turns,
        "facts": facts_for_turns(staff.config.facts_db_url, turns),
        "review": detail.review,
        "tags": [t.tag for t in detail.tags],
        "notes": [
            {
                "id": n.id,
                "body": n.body if user.sees_contacts else redact_text(n.body),
                "by": n.created_by,
                "at": n.created_at,
            }
            for n in detail.notes
        ],
        "flags": detail.flags,
        "corrections": detail.corrections,
        "handoffs": detail.handoffs,
        "handoff_state": _handoff_state(summary, detail.handoffs),
        "intents": staff.domain.correctable_intents,
        "guesses": {
            turn.user.event_id: classifier_guess(turn.user, staff.domain)
            for turn in turns
            if turn.user
        },
        "threshold": staff.config.nlu_threshold,
    }


def _handoff_state(summary: ConversationRow | None, handoffs: list) -> str:
    if summary is None:
        return "none"
    mark = HandoffMark(urgent=any(h.urgency == "urgent" for h in handoffs)) if handoffs else None
    return handoff_state_of(summary, mark)


async def transcript(request: Request) -> Response:
    data = await run_in_threadpool(_transcript, request)
    audit_request(request, "view_conversation", data["sender_id"])
    from bot.staff.routes.takeover import panel  # the takeover routes import this module

    data["takeover"] = await run_in_threadpool(panel, request, data["sender_id"])
    return render(request, "transcript.html", **data)


@require("reviewer")
async def transcript_json(request: Request) -> Response:
    data = await run_in_threadpool(_transcript, request)
    audit_request(request, "export_conversation", data["sender_id"], {"format": "json"})
    review = data["review"]
    return json_response(
        {
            "sender_id": data["sender_id"],
            "url": data["url"],
            "reviewed_by": review.reviewed_by if review else None,
            "reviewed_at": iso(review.reviewed_at) if review else None,
            "tags": data["tags"],
            "notes": [{**n, "at": iso(n["at"])} for n in data["notes"]],
            "flags": {
                str(event_id): {"reason": f.reason, "by": f.created_by, "at": iso(f.created_at)}
                for event_id, f in data["flags"].items()
            },
            "turns": [_turn_json(turn) for turn in data["turns"]],
        }
    )


def _turn_json(turn: Turn) -> dict[str, Any]:
    def event(e: Any) -> dict[str, Any]:
        out = {k: v for k, v in vars(e).items() if v not in (None, [], "")}
        out["at"] = iso(e.timestamp)
        if e.answer is not None:
            out["answer"] = vars(e.answer)
        return out

    return {
        "new_session": turn.new_session,
        "user": event(turn.user) if turn.user else None,
        "events": [event(e) for e in turn.events],
    }


# ------------------------------------------------------------------- review actions


def _back(
    request: Request, sender_id: str, summary: ConversationRow | None, **query: str
) -> Response:
    url = conversation_url(sender_id, summary.ref if summary else "", current_user(request))
    anchor = query.pop("anchor", "")
    query_string = "&".join(f"{k}={v}" for k, v in query.items())
    return RedirectResponse(
        url + (f"?{query_string}" if query_string else "") + (f"#{anchor}" if anchor else ""),
        status_code=303,
    )


async def _posted(request: Request) -> tuple[StaffApp, str, ConversationRow | None, FormData]:
    """The conversation a staff POST is about, and the form it sent."""
    staff, sender_id, summary = await run_in_threadpool(_resolve, request)
    return staff, sender_id, summary, await request.form()


@require("reviewer")
async def mark_reviewed(request: Request) -> Response:
    staff, sender_id, summary, form = await _posted(request)
    reviewed = form.get("reviewed") != "0"
    user = current_user(request)
    await run_in_threadpool(
        annotations.set_reviewed, staff.app_engine, sender_id, reviewed, user.username
    )
    audit_request(request, "mark_reviewed" if reviewed else "unmark_reviewed", sender_id)
    return _back(request, sender_id, summary, notice="reviewed" if reviewed else "unreviewed")


@require("reviewer")
async def add_tag(request: Request) -> Response:
    staff, sender_id, summary, form = await _posted(request)
    try:
        tag = await run_in_threadpool(
            annotations.add_tag,
            staff.app_engine,
            sender_id,
            str(form.get("tag") or ""),
            current_user(request).username,
        )
    except AnnotationError:
        return _back(request, sender_id, summary, error="bad_tag", anchor="tags")
    audit_request(request, "add_tag", sender_id, {"tag": tag})
    return _back(request, sender_id, summary, notice="tagged", anchor="tags")


@require("reviewer")
async def remove_tag(request: Request) -> Response:
    staff, sender_id, summary, form = await _posted(request)
    tag = str(form.get("tag") or "")
    if await run_in_threadpool(annotations.remove_tag, staff.app_engine, sender_id, tag):
        audit_request(request, "remove_tag", sender_id, {"tag": tag})
    return _back(request, sender_id, summary, notice="untagged", anchor="tags")


@require("reviewer")
async def add_note(request: Request) -> Response:
    staff, sender_id, summary, form = await _posted(request)
    body = str(form.get("body") or "")
    try:
        note = await run_in_threadpool(
            annotations.add_note, staff.app_engine, sender_id, body, current_user(request).username
        )
    except AnnotationError:
        code = "empty_note" if not body.strip() else "long_note"
        return _back(request, sender_id, summary, error=code, anchor="notes")
    audit_request(request, "add_note", sender_id, {"note_id": note.id})
    return _back(request, sender_id, summary, notice="noted", anchor="notes")


@require("reviewer")
async def flag_message(request: Request) -> Response:
    staff, sender_id, summary, form = await _posted(request)
    try:
        event_id = int(str(form.get("event_id") or ""))
    except ValueError:
        raise HTTPException(400, "event_id must be a number") from None
    flagged = form.get("flagged") != "0"
    reason = str(form.get("reason") or "")
    await run_in_threadpool(
        annotations.set_flag,
        staff.app_engine,
        sender_id,
        event_id,
        flagged,
        reason,
        current_user(request).username,
    )
    audit_request(
        request,
        "flag_message" if flagged else "unflag_message",
        sender_id,
        {"event_id": event_id, "reason": reason[:200]},
    )
    return _back(
        request,
        sender_id,
        summary,
        notice="flagged" if flagged else "unflagged",
        anchor=f"e{event_id}",
    )


routes = [
    Route("/conversations", conversation_list, methods=["GET"]),
    Route("/conversations.json", conversation_list_json, methods=["GET"]),
    Route("/conversations.csv", conversation_list_csv, methods=["GET"]),
    Route("/conversations/{key}.json", transcript_json, methods=["GET"]),
    Route("/conversations/{key}", transcript, methods=["GET"]),
    Route("/conversations/{key}/review", mark_reviewed, methods=["POST"]),
    Route("/conversations/{key}/tags", add_tag, methods=["POST"]),
    Route("/conversations/{key}/tags/remove", remove_tag, methods=["POST"]),
    Route("/conversations/{key}/notes", add_note, methods=["POST"]),
    Route("/conversations/{key}/flags", flag_message, methods=["POST"]),
]
