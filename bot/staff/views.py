"""Helpers every route uses: templates, role checks, CSV/JSON twins, links, notices."""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from bot.staff.auth import CurrentUser
from bot.staff.context import current_user, staff_app
from bot.staff.redact import redact_text

TEMPLATES_DIR = Path(__file__).parent / "templates"
Endpoint = Callable[[Request], Awaitable[Response]]

# Messages shown after a redirect, by code: the URL never carries free text to reflect.
NOTICES = {
    "reviewed": "Marked as reviewed.",
    "unreviewed": "Review mark removed.",
    "tagged": "Tag added.",
    "untagged": "Tag removed.",
    "noted": "Note added.",
    "flagged": "Message flagged.",
    "unflagged": "Flag removed.",
    "decided": "Decision saved.",
    "undone": "Decision removed; the message is back in the inbox.",
    "status": "Status changed.",
    "user_updated": "User updated.",
    "taken_over": "You have the conversation: the assistant is paused and the patient was told.",
    "handed_back": "Handed back: the assistant answers the patient again.",
}
ERRORS = {
    "bad_tag": "Tags are 1-40 characters: letters, digits, '-' or '_'.",
    "empty_note": "The note was empty.",
    "long_note": "Notes are limited to 4000 characters.",
    "bad_intent": "Choose one of the domain's intents.",
    "gone": "That message no longer exists; it may have been deleted.",
    "bad_status": "That status change is not allowed.",
    "self": "You cannot disable your own account.",
    # bot.staff.routes.takeover: the panel shows the details (holder, WhatsApp window).
    "takeover_AlreadyHeld": "Someone else has just taken over this conversation.",
    "takeover_NotHolder": "You don't hold this conversation.",
    "takeover_WindowClosed": "Not sent: WhatsApp's 24-hour reply window is closed.",
    "takeover_RasaUnavailable": "The Rasa server did not answer; nothing was sent.",
    "takeover_TakeoverOff": "Live takeover is off (no Rasa API token).",
    "takeover_TakeoverError": "That takeover action could not be done.",
}


def _when(value: float | datetime | None, tz: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    else:
        moment = datetime.fromtimestamp(float(value), timezone.utc)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _conf(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["conf"] = _conf
    env.filters["q"] = lambda value: quote(str(value), safe="")
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    staff = staff_app(request)
    user = request.scope.get("state", {}).get("user")
    tz = staff.config.tz
    env: Environment = request.app.state.jinja
    params = request.query_params
    login_csrf = context.pop("login_csrf", "")
    page = env.get_template(template).render(
        request=request,
        user=user,
        csrf_token=user.csrf_token if user else login_csrf,
        when=lambda value: _when(value, tz),
        timezone=staff.config.timezone,
        notice=NOTICES.get(params.get("notice", "")),
        error=ERRORS.get(params.get("error", "")),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


def require(role: str) -> Callable[[Endpoint], Endpoint]:
    """Allow the endpoint only to `role` and above (viewer < reviewer < admin)."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            if not current_user(request).has_role(role):
                return render(
                    request,
                    "forbidden.html",
                    status_code=403,
                    needed=role,
                )
            return await endpoint(request)

        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded

    return decorate


# ---------------------------------------------------------------------------- links


def conversation_key(sender_id: str, ref: str, user: CurrentUser) -> str:
    """The sender id for the URL, or its opaque ref when the id itself would leak a
    phone number to a viewer (WhatsApp ids are phone numbers) or cannot be a path."""
    unsafe_path = "/" in sender_id or sender_id.startswith("~") or sender_id.endswith(".json")
    if unsafe_path or (not user.sees_contacts and redact_text(sender_id) != sender_id):
        return ref
    return sender_id


def conversation_url(sender_id: str, ref: str, user: CurrentUser) -> str:
    return "/conversations/" + quote(conversation_key(sender_id, ref, user), safe="")


def conversation_label(sender_id: str, ref: str, user: CurrentUser) -> str:
    if not user.sees_contacts and redact_text(sender_id) != sender_id:
        return ref
    return sender_id


# -------------------------------------------------------------------------- exports

CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_FLUSH_ROWS = 200  # rows per chunk of a streamed CSV


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set)):
        value = " ".join(str(v) for v in value)
    text = str(value)
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


def csv_response(filename: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Response:
    """A CSV download written as `rows` are read: an export of every conversation
    streams out a chunk at a time instead of being built in memory first."""

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for number, row in enumerate(rows, start=1):
            writer.writerow([_csv_cell(row.get(column)) for column in columns])
            if number % CSV_FLUSH_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def json_response(payload: Any) -> Response:
    return JSONResponse(json.loads(json.dumps(payload, default=str)))


def iso(value: float | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    else:
        moment = datetime.fromtimestamp(value, timezone.utc)
    return moment.isoformat(timespec="seconds")
