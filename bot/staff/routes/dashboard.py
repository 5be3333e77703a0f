"""The dashboard: conversations per day, top intents, fallback rate, handoffs by reason."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.staff import charts
from bot.staff.context import staff_app
from bot.staff.dashboard import PERIODS, DashboardStats, compute, unreviewed
from bot.staff.views import render


def _stats(request: Request) -> tuple[DashboardStats, int]:
    staff = staff_app(request)
    try:
        days = int(request.query_params.get("days") or 30)
    except ValueError:
        days = 30
    days = days if days in PERIODS else 30
    staff.index.refresh()
    stats = compute(staff.app_engine, staff.config.tz, days)
    return stats, unreviewed(staff.app_engine)


async def dashboard(request: Request) -> Response:
    stats, waiting = await run_in_threadpool(_stats, request)
    return render(
        request,
        "dashboard.html",
        stats=stats,
        periods=PERIODS,
        unreviewed=waiting,
        per_day_chart=charts.column_chart(stats.per_day, "Conversations per day"),
        fallback_chart=charts.column_chart(
            stats.fallback_per_day, "Fallback rate per day", value_format=charts.percent
        ),
        intents_chart=charts.bar_list(stats.top_intents, "Top intents"),
        handoffs_chart=charts.bar_list(stats.handoffs_by_reason, "Handoffs by reason"),
        fallback_rate=charts.percent(stats.fallback_rate)
        if stats.fallback_rate is not None
        else "–",
    )


routes = [Route("/", dashboard, methods=["GET"])]
