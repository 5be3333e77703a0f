"""SQLAlchemy plumbing for the project's own tables (handoffs, staff app).

The fact base has its own database (see bot.facts.models) because it is rebuilt
wholesale; everything here is operational data that must survive rebuilds, so its
schema is created and changed only by the migrations of bot.appdb.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from sqlalchemy.pool import QueuePool

Base = declarative_base()


# Page cache per pooled SQLite connection: the staff app's list and facet queries
# scan indexes of 100,000 conversations, which SQLite's 2 MB default re-reads each time.
SQLITE_CACHE_KIB = 16_384


def sqlite_pooling(url: str) -> dict[str, Any]:
    """Keep SQLite file connections (and their page caches) open between requests:
    SQLAlchemy 1.4 opens a new one per checkout for files (NullPool). Connections
    move between the server's worker threads, never used by two at once."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        return {}
    return {"poolclass": QueuePool, "connect_args": {"check_same_thread": False}}


def make_engine(url: str) -> Engine:
    """Create an engine; for SQLite, create the parent folder and enable WAL + FKs."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=True, **sqlite_pooling(url))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cursor.close()

    return engine


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine (and connection pool) per URL per process. The tables come from
    `python -m bot db upgrade` (bot.appdb), not from here."""
    return make_engine(url)


def app_engine() -> Engine:
    from bot.config import get_settings

    return engine_for(get_settings().app_db_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A transactional session: commit on success, roll back on error."""
    factory = sessionmaker(bind=engine or app_engine(), future=True, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
