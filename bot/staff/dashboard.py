"""Numbers for the dashboard: conversations per day, top intents, fallbacks, handoffs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.contract import FALLBACK_INTENT
from bot.db import session_scope
from bot.handoff import HandoffRequest
from bot.staff.models import ConversationReview
from bot.staff.store import conversations_t, messages_t

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
    app_engine: Engine,
    tz: ZoneInfo,
    period_days: int,
    today: date | None = None,
) -> DashboardStats:
    """The dashboard's numbers, each one GROUP BY over the store's indexed tables."""
    today = today or datetime.now(tz).date()
    first_day = today - timedelta(days=period_days - 1)
    days = [first_day + timedelta(days=n) for n in range(period_days)]
    # Day boundaries in the clinic's time zone (a DST day is 23 or 25 hours long).
    bounds = [datetime.combine(d, time.min, tz).timestamp() for d in days]
    bounds.append(datetime.combine(today + timedelta(days=1), time.min, tz).timestamp())
    start_ts = bounds[0]
    # One row per day, for range joins that use the timestamp indexes (a UNION ALL,
    # since SQLite's VALUES cannot name its columns).
    day_table = sa.union_all(
        *(
            sa.select(
                sa.literal(n, sa.Integer).label("day"),
                sa.literal(bounds[n], sa.Float).label("low"),
                sa.literal(bounds[n + 1], sa.Float).label("high"),
            )
            for n in range(period_days)
        )
    ).subquery("days")
    conv = conversations_t.c
    msg = messages_t.c
    with app_engine.connect() as conn:
        in_period = conn.execute(
            sa.select(sa.func.count()).where(conv.user_messages > 0, conv.last_ts >= start_ts)
        ).scalar_one()
        started: Counter[int] = Counter()
        for day, count in conn.execute(
            sa.select(day_table.c.day, sa.func.count())
            .select_from(day_table)
            .join(
                conversations_t,
                sa.and_(
                    conv.first_ts >= day_table.c.low,
                    conv.first_ts < day_table.c.high,
                    conv.user_messages > 0,
                ),
            )
            .group_by(day_table.c.day)
        ):
            started[int(day)] = int(count)
        messages: Counter[int] = Counter()
        fallbacks: Counter[int] = Counter()
        intents: Counter[str] = Counter()
        for day, intent, count in conn.execute(
            sa.select(day_table.c.day, msg.intent, sa.func.count())
            .select_from(day_table)
            .join(
                messages_t,
                sa.and_(
                    msg.kind == "user",
                    msg.timestamp >= day_table.c.low,
                    msg.timestamp < day_table.c.high,
                ),
            )
            .group_by(day_table.c.day, msg.intent)
        ):
            messages[int(day)] += int(count)
            if intent == FALLBACK_INTENT:
                fallbacks[int(day)] += int(count)
            if intent:
                intents[intent] += int(count)
    total_messages = sum(messages.values())
    start_utc = datetime.fromtimestamp(start_ts, timezone.utc).replace(tzinfo=None)
    reasons, urgent = _handoffs(app_engine, start_utc)
    return DashboardStats(
        period_days=period_days,
        conversations=int(in_period),
        user_messages=total_messages,
        per_day=[(d.isoformat(), float(started[n])) for n, d in enumerate(days)],
        fallback_per_day=[
            (d.isoformat(), fallbacks[n] / messages[n] if messages[n] else 0.0)
            for n, d in enumerate(days)
        ],
        top_intents=[(name, float(count)) for name, count in intents.most_common(10)],
        fallback_rate=(sum(fallbacks.values()) / total_messages) if total_messages else None,
        handoffs_by_reason=[(name, float(count)) for name, count in reasons.most_common()],
        handoffs=sum(reasons.values()),
        urgent_handoffs=urgent,
    )


def unreviewed(app_engine: Engine) -> int:
    """Conversations with patient messages that nobody has marked reviewed."""
    conv = conversations_t.c
    reviewed = ConversationReview.__table__.c.sender_id
    with app_engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(
                    conv.user_messages > 0, sa.not_(conv.sender_id.in_(sa.select(reviewed)))
                )
            ).scalar_one()
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
