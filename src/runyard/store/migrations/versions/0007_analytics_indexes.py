"""indexes for job analytics: jobs by owner with the columns its panels read, tasks by status

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 20:30:00

At 100,000 jobs on SQLite, the panels of a user's jobs (count, statuses, mean duration) read 47 ms
of table rows without the covering index and 6 ms with it; finding the jobs with a failed task scans
every task (26 ms) without the tasks' status index and reads a few index entries (6 ms) with it. On
PostgreSQL the panels of 50,000 jobs of one user take 47 ms without the jobs' index, 19 ms with it
(an index-only scan: the id is in it for the jobs with a failed task).
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_jobs_owner_analytics",
        "jobs",
        ["owner", "status", "submitted_at", "started_at", "finished_at", "id"],
    )
    op.create_index("ix_tasks_status_job_id", "tasks", ["status", "job_id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_status_job_id", table_name="tasks")
    op.drop_index("ix_jobs_owner_analytics", table_name="jobs")
