"""Conversation list filters: parsed from the URL, run as SQL on the store, faceted.

The URL is the whole state of the list (datasette style), so any view can be
bookmarked, shared in a message, or fetched as `.json` / `.csv` with the same query.
Every filter is a SQL condition on the conversation store (bot/staff/store.py), and
every list a query with a LIMIT, so no request reads all conversations into memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.handoff import HandoffRequest
from bot.staff.annotations import HandoffMark
from bot.staff.models import ConversationReview, ConversationTag
from bot.staff.store import (
    CONVERSATION_COLUMNS,
    ConversationRow,
    conversations_t,
    messages_t,
    search_match,
    terms_t,
)

SORTS = {
    "recent": "most recent first",
    "oldest": "oldest first",
    "longest": "most messages first",
    "confidence": "lowest confidence first",
}
YES_NO = ("yes", "no")
HANDOFF_VALUES = ("any", "urgent", "requested", "none")
MAX_PAGE_SIZE = 500
FACET_LIMIT = 15


@dataclass(frozen=True)
class ConversationFilter:
    q: str = ""
    date_from: date | None = None
    date_to: date | None = None
    channel: str = ""
    intent: str = ""
    action: str = ""
    min_conf: float | None = None
    max_conf: float | None = None
    fallback: str = ""
    handoff: str = ""
    reviewed: str = ""
    tag: str = ""
    sort: str = "recent"
    page: int = 1
    size: int = 50

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> tuple[ConversationFilter, list[str]]:
        """The filter in the URL, plus messages about values we had to ignore."""
        errors: list[str] = []
        values: dict[str, object] = {}
        for name in ("q", "channel", "intent", "action", "tag"):
            values[name] = (params.get(name) or "").strip()[:200]
        for name in ("date_from", "date_to"):
            raw = (params.get(name) or "").strip()
            if raw:
                try:
                    values[name] = date.fromisoformat(raw)
                except ValueError:
                    errors.append(f"{name}: expected a date like 2025-01-31, got {raw!r}")
        for name in ("min_conf", "max_conf"):
            raw = (params.get(name) or "").strip()
            if raw:
                try:
                    number = float(raw)
                    if not 0 <= number <= 1:
                        raise ValueError
                    values[name] = number
                except ValueError:
                    errors.append(f"{name}: expected a number between 0 and 1, got {raw!r}")
        for name, allowed in (
            ("fallback", YES_NO),
            ("reviewed", YES_NO),
            ("handoff", HANDOFF_VALUES),
            ("sort", tuple(SORTS)),
        ):
            raw = (params.get(name) or "").strip()
            if raw in allowed:
                values[name] = raw
            elif raw:
                errors.append(f"{name}: expected one of {', '.join(allowed)}, got {raw!r}")
        values["page"] = _bounded_int(params.get("page"), 1, 1, 1_000_000)
        values["size"] = _bounded_int(params.get("size"), 50, 1, MAX_PAGE_SIZE)
        return cls(**values), errors  # type: ignore[arg-type]

    def params(self) -> dict[str, str]:
        """Non-default values as URL parameters."""
        defaults = ConversationFilter()
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(defaults, f.name) or value in ("", None):
                continue
            out[f.name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    def query(self, **changes: object) -> str:
        """`?...` for this filter with some values changed; filters reset the page."""
        if any(name not in ("page", "size", "sort") for name in changes):
            changes.setdefault("page", 1)
        params = replace(self, **changes).params()  # type: ignore[arg-type]
        return "?" + urlencode(params) if params else "?"

    @property
    def active(self) -> bool:
        return any(k not in ("page", "size", "sort") for k in self.params())

    def date_bounds(self, tz: ZoneInfo) -> tuple[float | None, float | None]:
        start = end = None
        if self.date_from:
            start = datetime.combine(self.date_from, time.min, tz).timestamp()
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time.min, tz).timestamp()
        return start, end


def _bounded_int(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(raw or default), low), high)
    except ValueError:
        return default


def handoff_state_of(summary: ConversationRow, mark: HandoffMark | None) -> str:
    """urgent, requested (a handoff without urgency) or none: one conversation."""
    if summary.urgent_intent or (mark is not None and mark.urgent):
        return "urgent"
    if summary.human_intent or mark is not None:
        return "requested"
    return "none"


# ----------------------------------------------------------------------------- as SQL

conv = conversations_t.c
handoffs_t = HandoffRequest.__table__
reviews_t = ConversationReview.__table__
tags_t = ConversationTag.__table__
LISTED = conv.user_messages > 0  # conversations in which the patient wrote


def handoff_state_sql() -> sa.ColumnElement[str]:
    """`handoff_state_of` for every row of a query on staff_conversations."""
    urgent_request = conv.sender_id.in_(
        sa.select(handoffs_t.c.sender_id).where(handoffs_t.c.urgency == "urgent")
    )
    any_request = conv.sender_id.in_(sa.select(handoffs_t.c.sender_id))
    return sa.case(
        (sa.or_(conv.urgent_intent, urgent_request), "urgent"),
        (sa.or_(conv.human_intent, any_request), "requested"),
        else_="none",
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def conditions(
    flt: ConversationFilter, tz: ZoneInfo, dialect: str, redacted: bool
) -> list[sa.ColumnElement[bool]]:
    """The filter as SQL conditions on staff_conversations; `redacted` for roles that
    may not see contact details, so they cannot find a conversation by a phone number
    or a name typed into the contact form."""
    checks: list[sa.ColumnElement[bool]] = [LISTED]
    start, end = flt.date_bounds(tz)
    if start is not None:
        checks.append(conv.last_ts >= start)
    if end is not None:
        checks.append(conv.first_ts < end)
    for kind in ("channel", "intent", "action"):
        value = getattr(flt, kind)
        if value:
            checks.append(
                conv.sender_id.in_(
                    sa.select(terms_t.c.sender_id).where(
                        terms_t.c.kind == kind, terms_t.c.value == value
                    )
                )
            )
    if flt.min_conf is not None or flt.max_conf is not None:
        low = flt.min_conf if flt.min_conf is not None else 0.0
        high = flt.max_conf if flt.max_conf is not None else 1.0
        checks.append(
            sa.exists().where(
                messages_t.c.sender_id == conv.sender_id,
                messages_t.c.kind == "user",
                messages_t.c.confidence.between(low, high),
            )
        )
    if flt.fallback:
        checks.append(conv.fallback.is_(flt.fallback == "yes"))
    if flt.handoff == "any":
        checks.append(handoff_state_sql() != "none")
    elif flt.handoff:
        checks.append(handoff_state_sql() == flt.handoff)
    if flt.reviewed:
        reviewed = conv.sender_id.in_(sa.select(reviews_t.c.sender_id))
        checks.append(reviewed if flt.reviewed == "yes" else sa.not_(reviewed))
    if flt.tag:
        checks.append(
            conv.sender_id.in_(sa.select(tags_t.c.sender_id).where(tags_t.c.tag == flt.tag))
        )
    if flt.q:
        match = search_match(flt.q, dialect, redacted)
        found: list[sa.ColumnElement[bool]] = []
        if match is not None:
            found.append(conv.sender_id.in_(sa.select(messages_t.c.sender_id).where(match)))
        if not redacted:
            # Staff who see contacts may paste a sender id (or part of one).
            needle = "%" + _escape_like(flt.q.casefold()) + "%"
            found.append(sa.func.lower(conv.sender_id).like(needle, escape="\\"))
        checks.append(sa.or_(*found) if found else sa.false())
    return checks


def _order(flt: ConversationFilter) -> list[Any]:
    if flt.sort == "oldest":
        return [conv.last_ts.asc(), conv.sender_id]
    if flt.sort == "longest":
        return [conv.user_messages.desc(), conv.last_ts.desc(), conv.sender_id]
    if flt.sort == "confidence":
        return [conv.min_confidence.is_(None), conv.min_confidence.asc(), conv.last_ts.desc()]
    return [conv.last_ts.desc(), conv.sender_id]


@dataclass
class ListQuery:
    """One filtered list: its SQL conditions and what runs on them."""

    flt: ConversationFilter
    where: list[sa.ColumnElement[bool]]

    @classmethod
    def build(
        cls, flt: ConversationFilter, tz: ZoneInfo, dialect: str, redacted: bool
    ) -> ListQuery:
        return cls(flt, conditions(flt, tz, dialect, redacted))

    @property
    def unfiltered(self) -> bool:
        return len(self.where) == 1

    def count(self, conn: Connection) -> int:
        query = sa.select(sa.func.count()).select_from(conversations_t).where(*self.where)
        return int(conn.execute(query).scalar_one())

    def select(self, offset: int = 0, limit: int | None = None) -> sa.Select:
        """The matching conversations in the filter's order, with their handoff state."""
        query = (
            sa.select(*CONVERSATION_COLUMNS, handoff_state_sql().label("handoff"))
            .where(*self.where)
            .order_by(*_order(self.flt))
        )
        if limit is not None:
            query = query.offset(offset).limit(limit)
        return query

    def senders(self) -> sa.Select:
        return sa.select(conv.sender_id).where(*self.where)


# ----------------------------------------------------------------------------- facets


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool
    href: str


@dataclass(frozen=True)
class Facet:
    name: str
    label: str
    values: list[FacetValue]


FACET_LABELS = {
    "channel": "Channel",
    "intent": "Intent",
    "tag": "Tag",
    "reviewed": "Reviewed",
    "handoff": "Handoff",
    "fallback": "Had fallback",
}


def facet_counts(
    conn: Connection, query: ListQuery, total: int
) -> dict[str, list[tuple[str, int]]]:
    """Counts of the matched conversations by channel, intent, tag and state, each a
    GROUP BY with a LIMIT."""
    matched = query.senders()
    counts: dict[str, list[tuple[str, int]]] = {}
    for kind in ("channel", "intent"):
        number = sa.func.count().label("n")
        select = sa.select(terms_t.c.value, number).where(terms_t.c.kind == kind)
        if not query.unfiltered:  # terms only exist for conversations with messages
            select = select.where(terms_t.c.sender_id.in_(matched))
        counts[kind] = _top(conn, select.group_by(terms_t.c.value))
    number = sa.func.count().label("n")
    counts["tag"] = _top(
        conn,
        sa.select(tags_t.c.tag, number)
        .where(tags_t.c.sender_id.in_(matched))
        .group_by(tags_t.c.tag),
    )
    reviewed = int(
        conn.execute(
            sa.select(sa.func.count()).where(reviews_t.c.sender_id.in_(matched))
        ).scalar_one()
    )
    counts["reviewed"] = [("yes", reviewed), ("no", total - reviewed)]
    state = handoff_state_sql().label("state")
    counts["handoff"] = [
        (row.state, int(row.n))
        for row in conn.execute(
            sa.select(state, sa.func.count().label("n")).where(*query.where).group_by(state)
        )
    ]
    counts["fallback"] = [
        ("yes" if row.fallback else "no", int(row.n))
        for row in conn.execute(
            sa.select(conv.fallback, sa.func.count().label("n"))
            .where(*query.where)
            .group_by(conv.fallback)
        )
    ]
    return counts


def _top(conn: Connection, select: sa.Select) -> list[tuple[str, int]]:
    rows = conn.execute(
        select.order_by(sa.literal_column("n").desc(), sa.literal_column("1")).limit(FACET_LIMIT)
    )
    return [(str(row[0]), int(row[1])) for row in rows]


def facets(flt: ConversationFilter, counts: dict[str, list[tuple[str, int]]]) -> list[Facet]:
    """Facet links for counts from `facet_counts`: each toggles its value in the URL."""
    result = []
    for name, label in FACET_LABELS.items():
        current = getattr(flt, name)
        ranked = sorted((pair for pair in counts.get(name, []) if pair[1]), key=lambda p: -p[1])
        values = [
            FacetValue(
                value=value,
                count=count,
                selected=value == current,
                href=flt.query(**{name: "" if value == current else value}),
            )
            for value, count in ranked[:FACET_LIMIT]
        ]
        if values:
            result.append(Facet(name, label, values))
    return result
