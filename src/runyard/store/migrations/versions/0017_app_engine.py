"""app_engine_tasks, app_engine_runs: the App Engine's tasks (bundles) and their runs

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_engine_tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("namespace", sa.String(255), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("name_short", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("descriptor", sa.JSON, nullable=False),
        sa.Column("image", sa.String(255), nullable=False),
        sa.Column("image_id", sa.String(80), nullable=False),
        sa.Column("has_logo", sa.Boolean, nullable=False),
        sa.Column("owner", sa.String(255), nullable=False, index=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("namespace", "version", name="uq_app_engine_tasks_namespace_version"),
    )
    op.create_table(
        "app_engine_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "task_id",
            sa.String(36),
            sa.ForeignKey("app_engine_tasks.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("owner", sa.String(255), nullable=False, index=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("provisions", sa.JSON, nullable=False),
        sa.Column("outputs", sa.JSON),
        sa.Column("mode", sa.String(16)),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("job_id", sa.Integer, index=True),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("app_engine_runs")
    op.drop_table("app_engine_tasks")
