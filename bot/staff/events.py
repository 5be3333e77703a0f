"""Rasa's tracker store table, read (never written) through SQLAlchemy Core.

The staff app does not import Rasa: it only depends on the `events` table layout of
`rasa.core.tracker_store.SQLTrackerStore.SQLEvent`, which works on SQLite and PostgreSQL.
Only retention (purge/delete) removes rows here.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import SQLITE_CACHE_KIB, sqlite_pooling

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


@lru_cache(maxsize=8)
def tracker_engine(url: str) -> Engine:
    """One engine per tracker URL. No schema changes: Rasa owns this database."""
    engine = sa.create_engine(url, future=True, pool_pre_ping=True, **sqlite_pooling(url))
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _busy_timeout(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            # Rasa writes while we read; wait for its lock instead of failing.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cursor.close()

    return engine


def has_events_table(engine: Engine) -> bool:
    """False until Rasa has started once with the SQL tracker store."""
    return sa.inspect(engine).has_table("events")


def parse_data(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
