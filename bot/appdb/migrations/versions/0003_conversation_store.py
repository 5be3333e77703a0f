"""The conversation store's tables (commit ae1e7d1)

Revision ID: 0003_conversation_store
Revises: 0002_takeover
Created: 2026-12-02 08:45:00

Before migrations the staff app created these tables (and staff_messages' full-text
index) when missing, so each is created only if absent. The full-text DDL is
bot.staff.store.create_search_index, which is idempotent. The store holds only what
the feed derives from Rasa's `events`: tables made by an older layout (no `intents`
column) are dropped and made again, and the feed refills them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.staff.store import create_search_index

revision = "0003_conversation_store"
down_revision = "0002_takeover"
branch_labels = None
depends_on = None


def _exists(table: str) -> bool:
    return table in sa.inspect(op.get_bind()).get_table_names()


STORE_TABLES = (
    "staff_store_state",
    "staff_messages",
    "staff_conversations",
    "staff_conversation_terms",
)


def _drop_old_layout() -> None:
    bind = op.get_bind()
    if not _exists("staff_conversations"):
        return
    columns = {c["name"] for c in sa.inspect(bind).get_columns("staff_conversations")}
    if "intents" in columns:
        return
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS staff_messages_fts")
    for table in STORE_TABLES:
        if _exists(table):
            op.drop_table(table)


def upgrade() -> None:
    _drop_old_layout()
    if not _exists("staff_conversation_terms"):
        op.create_table(
            "staff_conversation_terms",
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("value", sa.String(length=255), nullable=False),
            sa.Column("sender_id", sa.String(length=255), nullable=False),
            sa.Column("count", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("kind", "value", "sender_id"),
            sqlite_with_rowid=False,
        )
        with op.batch_alter_table("staff_conversation_terms", schema=None) as batch_op:
            batch_op.create_index(
                "ix_staff_conversation_terms_sender", ["sender_id", "kind", "value"], unique=False
            )

    if not _exists("staff_conversations"):
        op.create_table(
            "staff_conversations",
            sa.Column("sender_id", sa.String(length=255), nullable=False),
            sa.Column("ref", sa.String(length=32), nullable=False),
            sa.Column("first_ts", sa.Float(), nullable=True),
            sa.Column("last_ts", sa.Float(), nullable=True),
            sa.Column("user_messages", sa.Integer(), nullable=False),
            sa.Column("min_confidence", sa.Float(), nullable=True),
            sa.Column("fallback", sa.Boolean(), nullable=False),
            sa.Column("urgent_intent", sa.Boolean(), nullable=False),
            sa.Column("human_intent", sa.Boolean(), nullable=False),
            sa.Column("channels", sa.String(length=255), nullable=False),
            sa.Column("handoff", sa.String(length=16), nullable=False),
            sa.Column("intents", sa.Text(), nullable=False),
            sa.Column("first_text", sa.Text(), nullable=False),
            sa.Column("active_loop", sa.String(length=120), nullable=True),
            sa.PrimaryKeyConstraint("sender_id"),
            sa.UniqueConstraint("ref"),
            sqlite_with_rowid=False,
        )
        with op.batch_alter_table("staff_conversations", schema=None) as batch_op:
            batch_op.create_index(
                "ix_staff_conversations_first_ts", ["first_ts", "user_messages"], unique=False
            )
            batch_op.create_index(
                "ix_staff_conversations_last_ts", ["last_ts", "user_messages"], unique=False
            )
            batch_op.create_index(
                "ix_staff_conversations_min_confidence", ["min_confidence"], unique=False
            )
            batch_op.create_index(
                "ix_staff_conversations_facets",
                ["handoff", "fallback", "channels", "intents", "user_messages"],
                unique=False,
            )

    if not _exists("staff_messages"):
        op.create_table(
            "staff_messages",
            sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("sender_id", sa.String(length=255), nullable=False),
            sa.Column("kind", sa.String(length=8), nullable=False),
            sa.Column("timestamp", sa.Float(), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("redacted", sa.Text(), nullable=True),
            sa.Column("intent", sa.String(length=255), nullable=True),
            sa.Column("confidence", sa.Float(), nullable=True),
            sa.Column("channel", sa.String(length=64), nullable=True),
            sa.Column("in_form", sa.Boolean(), nullable=False),
            sa.Column("review_score", sa.Float(), nullable=True),
            sa.PrimaryKeyConstraint("event_id"),
        )
        with op.batch_alter_table("staff_messages", schema=None) as batch_op:
            batch_op.create_index(
                "ix_staff_messages_day", ["kind", "timestamp", "intent"], unique=False
            )
            batch_op.create_index(
                "ix_staff_messages_review",
                ["review_score", "timestamp", "sender_id"],
                unique=False,
            )
            batch_op.create_index(
                "ix_staff_messages_sender", ["sender_id", "kind", "confidence"], unique=False
            )
        # Full-text search: FTS5 + triggers on SQLite, tsvector + GIN on PostgreSQL.
        create_search_index(op.get_bind())

    if not _exists("staff_store_state"):
        op.create_table(
            "staff_store_state",
            sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("last_event_id", sa.Integer(), nullable=False),
            sa.Column("events_seen", sa.Integer(), nullable=False),
            sa.Column("ref_key", sa.String(length=64), nullable=False),
            sa.Column("last_handoff_id", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS staff_messages_fts")
    for table in STORE_TABLES:
        op.drop_table(table)
