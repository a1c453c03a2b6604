"""service_instances.pending_action: an action recorded before its job is submitted (intent before effect)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_instances") as table:
        table.add_column(sa.Column("pending_action", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_instances") as table:
        table.drop_column("pending_action")
