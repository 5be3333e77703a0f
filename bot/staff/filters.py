"""Conversation list filters: parsed from the URL, run as SQL on the store, faceted.

The URL is the whole state of the list (datasette style), so any view can be
bookmarked, shared in a message, or fetched as `.json` / `.csv` with the same query.
Every filter is a SQL condition on the conversation store (bot/staff/store.py), and
every list a query with a LIMIT, so no request reads all conversations into memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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
reviews_t = ConversationReview.__table__
tags_t = ConversationTag.__table__
LISTED = conv.user_messages > 0  # conversations in which the patient wrote


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def sender_prefix(query: str, dialect: str) -> sa.ColumnElement[bool]:
    """Sender ids starting with `query` (as typed: ids are case-sensitive). On SQLite
    GLOB, unlike LIKE, is case-sensitive and so can use the primary key's index."""
    if dialect == "sqlite":
        escaped = "".join(f"[{ch}]" if ch in "*?[]" else ch for ch in query)
        return conv.sender_id.op("GLOB")(escaped + "*")
    return conv.sender_id.like(_escape_like(query) + "%", escape="\\")


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
    if flt.channel:
        # Nearly every conversation has one channel: test the column, no subquery.
        checks.append(
            sa.or_(
                conv.channels == flt.channel,
                (", " + conv.channels + ", ").contains(f", {flt.channel}, ", autoescape=True),
            )
        )
    for kind in ("intent", "action"):
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
        checks.append(conv.handoff != "none")
    elif flt.handoff:
        checks.append(conv.handoff == flt.handoff)
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
            # Staff who see contacts may paste a sender id, or its start.
            found.append(sender_prefix(flt.q.strip(), dialect))
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
        query = sa.select(*CONVERSATION_COLUMNS).where(*self.where).order_by(*_order(self.flt))
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
    conn: Connection, query: ListQuery
) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    """How many conversations match, and their counts by channel, intent, tag and state.

    One scan of the matching conversations (an index covers it) grouped by state,
    channels and intent combination: distinct combinations are far fewer than
    conversations, and are split and summed here."""
    grouped = conn.execute(
        sa.select(
            conv.handoff, conv.fallback, conv.channels, conv.intents, sa.func.count().label("n")
        )
        .where(*query.where)
        .group_by(conv.handoff, conv.fallback, conv.channels, conv.intents)
    )
    total = 0
    tallies: dict[str, Counter[str]] = {
        name: Counter() for name in ("handoff", "fallback", "channel", "intent")
    }
    for row in grouped:
        n = int(row.n)
        total += n
        tallies["handoff"][row.handoff] += n
        tallies["fallback"]["yes" if row.fallback else "no"] += n
        for channel in (row.channels or "unknown").split(", "):
            tallies["channel"][channel] += n
        for intent in (row.intents or "").split():
            tallies["intent"][intent] += n
    counts = {name: tally.most_common(FACET_LIMIT) for name, tally in tallies.items()}
    # Few conversations are tagged or reviewed: start from those rows.
    number = sa.func.count().label("n")
    counts["tag"] = _top(
        conn,
        sa.select(tags_t.c.tag, number)
        .join(conversations_t, conv.sender_id == tags_t.c.sender_id)
        .where(*query.where)
        .group_by(tags_t.c.tag),
    )
    reviewed = int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(reviews_t)
            .join(conversations_t, conv.sender_id == reviews_t.c.sender_id)
            .where(*query.where)
        ).scalar_one()
    )
    counts["reviewed"] = [("yes", reviewed), ("no", total - reviewed)]
    return total, counts


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
