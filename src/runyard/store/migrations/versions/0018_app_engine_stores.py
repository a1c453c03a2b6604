"""app_engine_stores: the app stores tasks are installed from

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 01:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_engine_stores",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("host", sa.String(2048), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("name", name="uq_app_engine_stores_name"),
        sa.UniqueConstraint("host", name="uq_app_engine_stores_host"),
    )


def downgrade() -> None:
    op.drop_table("app_engine_stores")
