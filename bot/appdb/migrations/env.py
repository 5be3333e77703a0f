"""Alembic's environment for the app database: run by bot.appdb.upgrade (and the
`python -m bot db` commands), which pass the connection to migrate."""

from __future__ import annotations

from alembic import context

from bot.appdb import include_object, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `python -m bot db upgrade` (bot.appdb.upgrade)")

context.configure(
    connection=connection,
    # The models matter only when generating a revision (`python -m bot db revision`);
    # an upgrade runs the migration files alone.
    target_metadata=metadata() if context.config.attributes.get("autogenerate") else None,
    # SQLite can't ALTER most things; batch mode copies the table instead.
    render_as_batch=True,
    include_object=include_object,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
