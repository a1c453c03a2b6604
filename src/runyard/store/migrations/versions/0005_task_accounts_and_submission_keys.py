"""users' task account numbers and the idempotency keys of submissions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 05:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("account_number", sa.Integer(), nullable=True))
        users.create_unique_constraint("uq_users_account_number", ["account_number"])
    op.create_table(
        "submission_keys",
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["owner"], ["users.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("owner", "key"),
    )
    op.create_index("ix_submission_keys_created_at", "submission_keys", ["created_at"])


def downgrade() -> None:
    op.drop_table("submission_keys")
    with op.batch_alter_table("users") as users:
        users.drop_constraint("uq_users_account_number", type_="unique")
        users.drop_column("account_number")
