"""service instances and the job submissions of their actions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_instances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_id", sa.String(length=255), nullable=False),
        sa.Column("bucket_name", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("transition", sa.String(length=160), nullable=True),
        sa.Column("transition_job_id", sa.Integer(), nullable=True),
        sa.Column("icon", sa.Text(), nullable=True),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("deployments", sa.JSON(), nullable=False),
        sa.Column("channel", sa.JSON(), nullable=False),
        sa.Column("node_tokens", sa.JSON(), nullable=False),
        sa.Column("ports", sa.JSON(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_service_instances_owner", "service_instances", ["owner"])
    op.create_index("ix_service_instances_status", "service_instances", ["status"])
    op.create_table(
        "service_job_submissions",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=255), nullable=False),
        sa.Column("transition", sa.String(length=160), nullable=False),
        sa.Column("parent_job_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["service_instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instance_id", "number"),
    )
    op.create_index("ix_service_job_submissions_job_id", "service_job_submissions", ["job_id"])


def downgrade() -> None:
    op.drop_table("service_job_submissions")
    op.drop_table("service_instances")
