"""The app database's schema comes from its Alembic migrations (bot.appdb).

- A database made before migrations existed (a snapshot with a row in every table)
  is upgraded in place and keeps its rows.
- The models and the migrations agree: a model changed without a migration fails
  here, with the command that writes the missing one.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from bot.appdb import (
    BASELINE_REVISION,
    head_revision,
    include_object,
    metadata,
    model_modules,
    upgrade,
)
from bot.db import make_engine
from bot.handoff import HandoffRepository

SNAPSHOT = Path(__file__).parent / "fixtures" / "meso-before-migrations.sql"
TABLES = (
    "handoff_requests",
    "staff_users",
    "staff_sessions",
    "conversation_reviews",
    "conversation_tags",
    "conversation_notes",
    "message_flags",
    "nlu_corrections",
    "staff_audit_log",
)


def _rows_of_takeovers(url: str) -> list[tuple]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(text("SELECT * FROM staff_takeovers"))]
    engine.dispose()
    return rows


def _database_before_migrations(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        connection.executescript(SNAPSHOT.read_text(encoding="utf-8"))
    return f"sqlite:///{path}"


def _rows(url: str) -> dict[str, list[tuple]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = {
            table: [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}"))]
            for table in TABLES
        }
    engine.dispose()
    return rows


@pytest.mark.parametrize("takeover_table_made_at_runtime", [False, True])
def test_an_old_database_is_upgraded_and_keeps_its_rows(
    tmp_path: Path, takeover_table_made_at_runtime: bool
) -> None:
    url = _database_before_migrations(tmp_path / "meso.db")
    if takeover_table_made_at_runtime:
        # Before migrations, the staff app created staff_takeovers itself when missing.
        from bot.staff.takeover_models import StaffTakeover

        engine = make_engine(url)
        StaffTakeover.__table__.create(engine)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO staff_takeovers VALUES ('web:snapshot', 'alice', 'Sam', "
                    "'socketio', '2026-12-01 10:00:00', '2026-12-01 10:05:00')"
                )
            )
        engine.dispose()
    before = _rows(url)
    assert all(len(rows) == 1 for rows in before.values()), "the snapshot has a row per table"

    takeovers = _rows_of_takeovers(url) if takeover_table_made_at_runtime else []

    assert upgrade(url) == head_revision()

    assert _rows(url) == before
    assert _rows_of_takeovers(url) == takeovers
    engine = make_engine(url)
    request = HandoffRepository(engine).get_by_reference("MA-7K3Q9P")
    assert request is not None and request.sender_id == "wa:snapshot-sender"
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head_revision()
    engine.dispose()


def test_the_baseline_migration_builds_the_schema_of_the_snapshot(tmp_path: Path) -> None:
    old = make_engine(_database_before_migrations(tmp_path / "old.db"))
    new_url = f"sqlite:///{tmp_path / 'new.db'}"
    upgrade(new_url, BASELINE_REVISION)
    new = make_engine(new_url)

    def schema(engine) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
        inspector = inspect(engine)
        return {
            table: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            )
            for table in TABLES
        }

    assert schema(new) == schema(old)
    old.dispose()
    new.dispose()


def test_models_match_the_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meso.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object})
        differences = compare_metadata(context, metadata())
    engine.dispose()
    assert not differences, (
        "the models in "
        + ", ".join(model_modules())
        + " differ from bot/appdb/migrations; write the migration with "
        "`.venv/bin/python -m bot db revision -m '<what changed>'`:\n"
        + "\n".join(map(_describe, differences))
    )


def _describe(difference: object) -> str:
    """One line per difference: ('add_table', Table(...)) -> 'add_table staff_x'."""
    if isinstance(difference, tuple) and len(difference) > 1:
        name = getattr(difference[1], "name", None) or str(difference[1])
        return f"{difference[0]} {name}"
    return str(difference)[:300]


def test_the_drift_check_sees_a_model_change(tmp_path: Path) -> None:
    from sqlalchemy import Column, Integer, MetaData, Table

    url = f"sqlite:///{tmp_path / 'meso.db'}"
    upgrade(url)
    changed = MetaData()
    for table in metadata().tables.values():
        table.to_metadata(changed)
    Table("new_table_without_migration", changed, Column("id", Integer, primary_key=True))
    engine = make_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), changed)
    engine.dispose()
    assert "add_table new_table_without_migration" in map(_describe, differences)


def test_concurrent_upgrades_take_turns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meso.db'}"
    results: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(upgrade(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert results == [head_revision()] * 3


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "current"]])
def test_the_db_commands(tmp_path: Path, command: list[str]) -> None:
    import subprocess
    import sys

    from bot import PROJECT_ROOT

    url = _database_before_migrations(tmp_path / "meso.db")
    if command[1] == "current":
        upgrade(url)
    result = subprocess.run(
        [sys.executable, "-m", "bot", *command, "--url", url],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert head_revision() in result.stdout
