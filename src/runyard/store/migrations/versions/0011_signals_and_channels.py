"""signals of jobs and synchronization channels (the task-side signalapi and synchronizationapi)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_signals",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("task_name", sa.String(255), nullable=True),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("ready_at", sa.Float(), nullable=True),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("sent_by", sa.String(255), nullable=True),
        sa.Column("sent_values", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "name"),
    )
    op.create_table(
        "sync_channels",
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("persistent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["owner"], ["users.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("owner", "name"),
    )
    op.create_table(
        "sync_entries",
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner", "channel"], ["sync_channels.owner", "sync_channels.name"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("owner", "channel", "key"),
    )


def downgrade() -> None:
    op.drop_table("sync_entries")
    op.drop_table("sync_channels")
    op.drop_table("job_signals")
