"""``python -m bot db upgrade|current|revision``: the app database's migrations."""

from __future__ import annotations

import argparse
import shutil
import sys

from bot.cli import CommandGroup
from bot.config import get_settings


def _upgrade(args: argparse.Namespace) -> int:
    from bot.appdb import upgrade

    url = args.url or get_settings().app_db_url
    print(f"App database at revision {upgrade(url, args.revision)}")
    return 0


def _current(args: argparse.Namespace) -> int:
    from bot.appdb import current_revision, head_revision
    from bot.db import make_engine

    engine = make_engine(args.url or get_settings().app_db_url)
    with engine.connect() as connection:
        current = current_revision(connection)
    engine.dispose()
    print(f"current: {current or '(none: run `python -m bot db upgrade`)'}")
    print(f"newest:  {head_revision()}")
    return 0 if current == head_revision() else 1


def _revision(args: argparse.Namespace) -> int:
    """A new migration, generated from the difference between the models and a
    database at the newest revision (a scratch SQLite file, so no data is touched)."""
    import tempfile

    from alembic import command

    from bot.appdb import alembic_config, upgrade
    from bot.db import make_engine

    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/meso.db"
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as connection:
            config = alembic_config(connection)
            config.attributes["autogenerate"] = True
            ruff = shutil.which("ruff", path=str(get_settings().project_root / ".venv" / "bin"))
            if ruff:  # the generated file passes `make lint` as written
                config.set_section_option("post_write_hooks", "hooks", "ruff")
                config.set_section_option("post_write_hooks", "ruff.type", "exec")
                config.set_section_option("post_write_hooks", "ruff.executable", ruff)
                config.set_section_option(
                    "post_write_hooks", "ruff.options", "format REVISION_SCRIPT_FILENAME"
                )
            script = command.revision(config, message=args.message, autogenerate=True)
        engine.dispose()
    if script is None:
        print("error: no revision written", file=sys.stderr)
        return 1
    path = script.path if not isinstance(script, list) else script[0].path
    print(f"Wrote {path}: review it, then run `python -m bot db upgrade`.")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    group = CommandGroup(subparsers, "db", "app database migrations (Alembic)")
    upgrade = group.add("upgrade", _upgrade, "migrate the app database to the newest schema")
    upgrade.add_argument("--url", help="SQLAlchemy URL (default: MESO_APP_DB_URL)")
    upgrade.add_argument("--revision", default="head", help="target revision (default: head)")
    current = group.add("current", _current, "the database's revision and the newest")
    current.add_argument("--url", help="SQLAlchemy URL (default: MESO_APP_DB_URL)")
    revision = group.add(
        "revision", _revision, "write a migration for the models' changes (bot/appdb/migrations)"
    )
    revision.add_argument("-m", "--message", required=True, help="what the migration changes")
