"""catalog: buckets, objects, revisions and their tags

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_buckets",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "catalog_objects",
        sa.Column("bucket_name", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["bucket_name"], ["catalog_buckets.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("bucket_name", "name"),
    )
    op.create_table(
        "catalog_revisions",
        sa.Column("bucket_name", sa.String(length=128), nullable=False),
        sa.Column("object_name", sa.String(length=128), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("project_name", sa.String(length=255), nullable=True),
        sa.Column("commit_time", sa.Float(), nullable=False),
        sa.Column("commit_message", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("workflow_metadata", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bucket_name", "object_name"],
            ["catalog_objects.bucket_name", "catalog_objects.name"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bucket_name", "object_name", "revision"),
    )
    op.create_table(
        "catalog_revision_tags",
        sa.Column("bucket_name", sa.String(length=128), nullable=False),
        sa.Column("object_name", sa.String(length=128), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["bucket_name", "object_name", "revision"],
            ["catalog_revisions.bucket_name", "catalog_revisions.object_name", "catalog_revisions.revision"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bucket_name", "object_name", "revision", "tag"),
    )


def downgrade() -> None:
    op.drop_table("catalog_revision_tags")
    op.drop_table("catalog_revisions")
    op.drop_table("catalog_objects")
    op.drop_table("catalog_buckets")
