"""GET /health on the Rasa server is public: it says degraded, never the raw error."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from bot.channels.health import health_report
from bot.rasa_ext.health import HEALTH


@pytest.fixture
def failing_store() -> Iterator[None]:
    saved = dict(vars(HEALTH))
    HEALTH.record_failure(
        RuntimeError(
            "(psycopg2.OperationalError) INSERT INTO events ... parameters: "
            "('447700900123', 'my scalp is bleeding') postgresql://meso:s3cret@db/meso"
        )
    )
    yield
    vars(HEALTH).clear()
    vars(HEALTH).update(saved)


async def test_health_hides_the_database_error(failing_store: None) -> None:
    request = SimpleNamespace(app=SimpleNamespace(ctx=SimpleNamespace(agent=None)))
    report = await health_report(request)  # type: ignore[arg-type]
    tracker = report["checks"]["tracker_store"]
    assert tracker["status"] == "degraded"
    assert tracker["last_error_type"] == "RuntimeError"
    text = repr(report)
    for secret in ("447700900123", "bleeding", "s3cret", "INSERT"):
        assert secret not in text
