"""Tables of the runyard store (SQLAlchemy Core). Times are epoch seconds (float)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("project_name", sa.String(255)),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("priority", sa.String(16), nullable=False),
    sa.Column("on_task_error", sa.String(32), nullable=False),
    sa.Column("max_number_of_execution", sa.Integer, nullable=False),
    sa.Column("task_retry_delay", sa.Float, nullable=False),
    sa.Column("submitted_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("workflow", sa.JSON, nullable=False),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("generic_information", sa.JSON, nullable=False),
    sa.Column("result_map", sa.JSON, nullable=False),
    sa.Column("source_dir", sa.Text),
    sa.Column("next_number", sa.Integer, nullable=False),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("template", sa.String(255), nullable=False),
    sa.Column("iteration", sa.Integer, nullable=False),
    sa.Column("replication", sa.Integer, nullable=False),
    sa.Column("depends", sa.JSON, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("executions", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("error_base", sa.Integer, nullable=False),
    sa.Column("node", sa.String(255)),
    sa.Column("not_before", sa.Float),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("result", sa.LargeBinary),
    sa.Column("result_json", sa.JSON),
    sa.Column("result_repr", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("flow", sa.JSON),
    sa.Column("exit_value", sa.Integer),
    sa.Column("paused_from", sa.String(32)),
    sa.UniqueConstraint("job_id", "name", name="uq_tasks_job_name"),
)

executions = sa.Table(
    "task_executions",
    metadata,
    sa.Column("job_id", sa.Integer, primary_key=True),
    sa.Column("task_number", sa.Integer, primary_key=True),
    sa.Column("execution", sa.Integer, primary_key=True),
    sa.Column("node", sa.String(255)),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("output", sa.Text, nullable=False),
    sa.Column("error", sa.Text),
    sa.ForeignKeyConstraint(["job_id", "task_number"], ["tasks.job_id", "tasks.number"], ondelete="CASCADE"),
)
