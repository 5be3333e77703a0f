"""Live takeover and the WhatsApp reply window (tables of commit a379e51)

Revision ID: 0002_takeover
Revises: 0001_baseline
Created: 2026-12-02 08:42:56

Before migrations, bot.staff.takeover and bot.channels.whatsapp_window created these
tables themselves when missing, so a database may have them already: each is created
only if absent.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_takeover"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def _exists(table: str) -> bool:
    return table in sa.inspect(op.get_bind()).get_table_names()


def upgrade() -> None:
    if not _exists("staff_takeovers"):
        op.create_table(
            "staff_takeovers",
            sa.Column("sender_id", sa.String(length=255), nullable=False),
            sa.Column("held_by", sa.String(length=64), nullable=False),
            sa.Column("title", sa.String(length=60), nullable=False),
            sa.Column("channel", sa.String(length=32), nullable=False),
            sa.Column("started_at", sa.DateTime(), nullable=False),
            sa.Column("last_staff_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("sender_id"),
        )
        with op.batch_alter_table("staff_takeovers", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_staff_takeovers_last_staff_at"), ["last_staff_at"], unique=False
            )
    if not _exists("whatsapp_reply_windows"):
        op.create_table(
            "whatsapp_reply_windows",
            sa.Column("conversation_id", sa.String(length=64), nullable=False),
            sa.Column("number", sa.String(length=32), nullable=False),
            sa.Column("last_inbound_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("conversation_id"),
        )
        with op.batch_alter_table("whatsapp_reply_windows", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_whatsapp_reply_windows_last_inbound_at"),
                ["last_inbound_at"],
                unique=False,
            )


def downgrade() -> None:
    op.drop_table("whatsapp_reply_windows")
    op.drop_table("staff_takeovers")
