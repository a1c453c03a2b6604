"""jobs by name: the portal's jobs table sorts by name without reading every job

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 01:25:00

At 100,000 jobs a page of jobs sorted by name (then id) took 28-66 ms on SQLite and 132-158 ms on
PostgreSQL without it (every row read and sorted), 2 ms and 38 ms with it (the same as the default
order by id; on PostgreSQL the rest is counting the jobs). The other sortable columns cost 50-190 ms
at 100,000 jobs on this (loaded, 2-core) machine without an index of their own: not worth slowing
every submission for.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_name_id", "jobs", ["name", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_name_id", table_name="jobs")
