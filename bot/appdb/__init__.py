"""The app database owns its schema: handoff requests, staff accounts and sessions,
reviews, tags, notes, flags, NLU corrections and the audit log.

Tables are SQLAlchemy models on ``bot.db.Base`` (bot/handoff.py, bot/staff/models.py,
and any module that subclasses that Base). Their schema changes only through the
Alembic migrations in bot/appdb/migrations/versions/, applied by `python -m bot db
upgrade`, `make run` and the services at start. tests/appdb/ checks that the models
and the migrations agree, so a model changed without a migration fails the suite.

To change a table: edit the model, then
    .venv/bin/python -m bot db revision -m "what changed"
review the generated file in migrations/versions/, and run `python -m bot db upgrade`.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import logging
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine

from bot import PROJECT_ROOT
from bot.db import Base, engine_for, make_engine

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The revision that describes the schema databases had before migrations existed
# (created by SQLAlchemy's create_all): such a database is stamped with it, not rebuilt.
BASELINE_REVISION = "0001_baseline"
BASELINE_TABLE = "handoff_requests"
# Any constant: PostgreSQL advisory lock held while one process migrates.
_PG_LOCK_ID = 7_302_915_001
_MODEL_IMPORT = re.compile(r"^from bot\.db import .*\bBase\b", re.MULTILINE)


# Schema made by DDL the models can't express: bot.staff.store's full-text search (an
# FTS5 table with its shadow tables on SQLite; tsvector columns and GIN indexes on
# PostgreSQL). The drift check and `db revision` leave these alone.
UNMODELLED = {
    "table": ("staff_messages_fts",),
    "index": ("ix_staff_messages_search",),
    "column": ("search", "search_redacted"),
}


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's filter: skip database objects of UNMODELLED that no model declares."""
    if not (reflected and compare_to is None and name):
        return True
    prefixes = UNMODELLED.get(type_, ())
    if type_ == "column":
        return name not in prefixes
    return not name.startswith(prefixes)


def model_modules() -> list[str]:
    """Every bot module that defines tables on bot.db.Base, found by its import, so a
    new model module needs no registration here."""
    root = PROJECT_ROOT / "bot"
    here = Path(__file__).resolve().parent
    modules = []
    for path in sorted(root.rglob("*.py")):
        if here in path.parents or path == here / "__init__.py":
            continue
        if _MODEL_IMPORT.search(path.read_text(encoding="utf-8")):
            relative = path.relative_to(PROJECT_ROOT).with_suffix("")
            modules.append(".".join(relative.parts))
    return modules


def metadata() -> MetaData:
    """bot.db.Base's metadata with every model module imported."""
    for module in model_modules():
        importlib.import_module(module)
    return Base.metadata


def alembic_config(connection: Connection | None = None):  # type: ignore[no-untyped-def]
    """Alembic's configuration, built in code: no alembic.ini to keep in step."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS_DIR / 'versions'}")
    return head


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str, revision: str = "head") -> str:
    """Bring the database at ``url`` to ``revision`` (default: the newest) and return
    the revision it is at. Safe to run from several processes at once: they take turns
    (a file lock for SQLite, an advisory lock for PostgreSQL)."""
    from alembic import command

    engine = make_engine(url)
    try:
        with _migration_lock(engine), engine.connect() as connection:
            if revision == "head" and current_revision(connection) == head_revision():
                return head_revision()
            config = alembic_config(connection)
            if _created_before_migrations(connection):
                logger.info("App database predates migrations; stamping %s", BASELINE_REVISION)
                command.stamp(config, BASELINE_REVISION)
            command.upgrade(config, revision)
            connection.commit()
            return current_revision(connection) or "base"
    finally:
        engine.dispose()


def migrated_engine(url: str) -> Engine:
    """The process's engine for ``url`` (bot.db.engine_for), after bringing the
    database to the newest schema: for the services and commands that write to it."""
    upgrade(url)
    return engine_for(url)


def _created_before_migrations(connection: Connection) -> bool:
    tables = set(inspect(connection).get_table_names())
    return BASELINE_TABLE in tables and "alembic_version" not in tables


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _PG_LOCK_ID})
            try:
                yield
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _PG_LOCK_ID})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
