"""Conversation list filters: parsed from the URL, applied to summaries, faceted.

The URL is the whole state of the list (datasette style), so any view can be
bookmarked, shared in a message, or fetched as `.json` / `.csv` with the same query.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.staff.annotations import ConversationMarks, HandoffMark
from bot.staff.conversations import ConversationSummary

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


def handoff_state(summary: ConversationSummary, marks: ConversationMarks) -> str:
    """urgent, requested (a handoff without urgency) or none."""
    return handoff_state_of(summary, marks.handoffs.get(summary.sender_id))


def handoff_state_of(summary: ConversationSummary, mark: HandoffMark | None) -> str:
    if summary.urgent_intent or (mark is not None and mark.urgent):
        return "urgent"
    if summary.human_intent or mark is not None:
        return "requested"
    return "none"


def _predicates(
    flt: ConversationFilter, marks: ConversationMarks, tz: ZoneInfo, redacted: bool
) -> list[Callable[[ConversationSummary], bool]]:
    checks: list[Callable[[ConversationSummary], bool]] = []
    start, end = flt.date_bounds(tz)
    if start is not None:
        checks.append(lambda s: s.last_ts >= start)
    if end is not None:
        checks.append(lambda s: s.first_ts < end)
    if flt.channel:
        checks.append(lambda s: flt.channel in s.channels)
    if flt.intent:
        checks.append(lambda s: flt.intent in s.intents)
    if flt.action:
        checks.append(lambda s: flt.action in s.actions)
    if flt.min_conf is not None or flt.max_conf is not None:
        low = flt.min_conf if flt.min_conf is not None else 0.0
        high = flt.max_conf if flt.max_conf is not None else 1.0
        checks.append(lambda s: any(low <= c <= high for c in s.confidences()))
    if flt.fallback:
        checks.append(lambda s: s.fallback == (flt.fallback == "yes"))
    if flt.handoff == "any":
        checks.append(lambda s: handoff_state(s, marks) != "none")
    elif flt.handoff:
        checks.append(lambda s: handoff_state(s, marks) == flt.handoff)
    if flt.reviewed:
        checks.append(lambda s: (s.sender_id in marks.reviewed) == (flt.reviewed == "yes"))
    if flt.tag:
        checks.append(lambda s: flt.tag in marks.tags.get(s.sender_id, ()))
    if flt.q:
        needle = flt.q.casefold()
        checks.append(lambda s: needle in s.search_text(redacted))
    return checks


def apply(
    flt: ConversationFilter,
    conversations: Iterable[ConversationSummary],
    marks: ConversationMarks,
    tz: ZoneInfo,
    redacted: bool = False,
) -> list[ConversationSummary]:
    checks = _predicates(flt, marks, tz, redacted)
    matched = [s for s in conversations if all(check(s) for check in checks)]
    if flt.sort == "oldest":
        matched.sort(key=lambda s: s.last_ts)
    elif flt.sort == "longest":
        matched.sort(key=lambda s: (-s.user_message_count, -s.last_ts))
    elif flt.sort == "confidence":
        matched.sort(key=lambda s: (_conf_key(s.min_confidence), -s.last_ts))
    else:
        matched.sort(key=lambda s: s.last_ts, reverse=True)
    return matched


def _conf_key(value: float | None) -> float:
    return 2.0 if value is None else value


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


def facets(
    flt: ConversationFilter, matched: list[ConversationSummary], marks: ConversationMarks
) -> list[Facet]:
    """Counts of the matched conversations by channel, intent, tag and state."""
    counters: dict[str, Counter[str]] = {
        name: Counter() for name in ("channel", "intent", "tag", "reviewed", "handoff", "fallback")
    }
    for s in matched:
        counters["channel"].update(s.channels)
        counters["intent"].update(s.intents.keys())
        counters["tag"].update(marks.tags.get(s.sender_id, ()))
        counters["reviewed"]["yes" if s.sender_id in marks.reviewed else "no"] += 1
        counters["handoff"][handoff_state(s, marks)] += 1
        counters["fallback"]["yes" if s.fallback else "no"] += 1
    labels = {
        "channel": "Channel",
        "intent": "Intent",
        "tag": "Tag",
        "reviewed": "Reviewed",
        "handoff": "Handoff",
        "fallback": "Had fallback",
    }
    result = []
    for name, counter in counters.items():
        current = getattr(flt, name)
        values = [
            FacetValue(
                value=value,
                count=count,
                selected=value == current,
                href=flt.query(**{name: "" if value == current else value}),
            )
            for value, count in counter.most_common(FACET_LIMIT)
        ]
        if values:
            result.append(Facet(name, labels[name], values))
    return result
