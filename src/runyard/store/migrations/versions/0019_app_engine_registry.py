"""app_engine_tasks.registry_image: the reference of a task's image in the App Engine's registry

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 01:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_engine_tasks") as table:
        table.add_column(sa.Column("registry_image", sa.String(512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_engine_tasks") as table:
        table.drop_column("registry_image")
