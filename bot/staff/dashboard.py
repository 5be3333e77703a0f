"""Numbers for the dashboard: conversations per day, top intents, fallbacks, handoffs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.handoff import HandoffRequest
from bot.staff.conversations import FALLBACK_INTENT, ConversationSummary

PERIODS = (7, 30, 90)


@dataclass
class DashboardStats:
    period_days: int
    conversations: int
    user_messages: int
    per_day: list[tuple[str, float]]
    fallback_per_day: list[tuple[str, float]]
    top_intents: list[tuple[str, float]]
    fallback_rate: float | None
    handoffs_by_reason: list[tuple[str, float]]
    handoffs: int
    urgent_handoffs: int


def compute(
    conversations: list[ConversationSummary],
    app_engine: Engine,
    tz: ZoneInfo,
    period_days: int,
    today: date | None = None,
) -> DashboardStats:
    today = today or datetime.now(tz).date()
    first_day = today - timedelta(days=period_days - 1)
    start = datetime.combine(first_day, time.min, tz)
    start_ts = start.timestamp()
    days = [first_day + timedelta(days=n) for n in range(period_days)]
    started: Counter[date] = Counter()
    messages: Counter[date] = Counter()
    fallbacks: Counter[date] = Counter()
    intents: Counter[str] = Counter()
    in_period = 0
    for summary in conversations:
        if summary.last_ts < start_ts:
            continue
        in_period += 1
        if summary.first_ts >= start_ts:
            started[datetime.fromtimestamp(summary.first_ts, tz).date()] += 1
        for message in summary.messages:
            if message.timestamp < start_ts:
                continue
            day = datetime.fromtimestamp(message.timestamp, tz).date()
            messages[day] += 1
            fallbacks[day] += message.intent == FALLBACK_INTENT
            if message.intent:
                intents[message.intent] += 1
    total_messages = sum(messages.values())
    reasons, urgent = _handoffs(app_engine, start.astimezone(timezone.utc).replace(tzinfo=None))
    return DashboardStats(
        period_days=period_days,
        conversations=in_period,
        user_messages=total_messages,
        per_day=[(d.isoformat(), float(started[d])) for d in days],
        fallback_per_day=[
            (d.isoformat(), fallbacks[d] / messages[d] if messages[d] else 0.0) for d in days
        ],
        top_intents=[(name, float(count)) for name, count in intents.most_common(10)],
        fallback_rate=(sum(fallbacks.values()) / total_messages) if total_messages else None,
        handoffs_by_reason=[(name, float(count)) for name, count in reasons.most_common()],
        handoffs=sum(reasons.values()),
        urgent_handoffs=urgent,
    )


def _handoffs(engine: Engine, since: datetime) -> tuple[Counter[str], int]:
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(HandoffRequest.reason, HandoffRequest.urgency, sa.func.count())
            .where(HandoffRequest.created_at >= since)
            .group_by(HandoffRequest.reason, HandoffRequest.urgency)
        ).all()
    reasons: Counter[str] = Counter()
    urgent = 0
    for reason, urgency, count in rows:
        reasons[reason] += int(count)
        urgent += int(count) if urgency == "urgent" else 0
    return reasons, urgent
