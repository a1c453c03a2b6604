"""job_endpoints and job_services: a job's external endpoint URLs and the service instances attached to it

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_endpoints",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("icon", sa.String(2048), nullable=True),
        sa.Column("added_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "name"),
    )
    op.create_table(
        "job_services",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("with_endpoints", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["instance_id"], ["service_instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "instance_id"),
    )


def downgrade() -> None:
    op.drop_table("job_services")
    op.drop_table("job_endpoints")
