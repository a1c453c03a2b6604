"""Finding jobs for lists: filters, paging and per-status task counts, without loading workflows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from runyard.store.schema import jobs, tasks


@dataclass(frozen=True)
class JobFilter:
    statuses: tuple[str, ...] = ()
    owner: str | None = None
    name: str | None = None
    """Exact name, or a pattern where ``*`` matches any run of characters."""
    project: str | None = None
    submitted_after: float | None = None
    submitted_before: float | None = None


#: The columns a list may be sorted by (then by id, the same way, so that pages never overlap).
SORTABLE = (
    "id",
    "name",
    "owner",
    "project_name",
    "status",
    "priority",
    "submitted_at",
    "started_at",
    "finished_at",
)


@dataclass(frozen=True)
class JobOrder:
    column: str = "id"
    """One of :data:`SORTABLE`."""
    descending: bool = True


@dataclass
class JobPage:
    jobs: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


_SUMMARY = [
    jobs.c.id,
    jobs.c.name,
    jobs.c.owner,
    jobs.c.project_name,
    jobs.c.status,
    jobs.c.priority,
    jobs.c.submitted_at,
    jobs.c.started_at,
    jobs.c.finished_at,
    jobs.c.parent_id,
]


def find_jobs(
    connection: sa.Connection, where: JobFilter, *, limit: int, offset: int, order: JobOrder = JobOrder()
) -> JobPage:
    """Newest first unless ``order`` says otherwise; each job with ``task_counts`` (status → number of
    task instances)."""
    conditions = _conditions(where)
    total = connection.execute(sa.select(sa.func.count()).select_from(jobs).where(*conditions)).scalar_one()
    rows = connection.execute(
        sa.select(*_SUMMARY).where(*conditions).order_by(*_ordering(order)).limit(limit).offset(offset)
    ).mappings()
    page = JobPage([dict(row) for row in rows], int(total))
    if page.jobs:
        counts: dict[int, dict[str, int]] = {job["id"]: {} for job in page.jobs}
        grouped = connection.execute(
            sa.select(tasks.c.job_id, tasks.c.status, sa.func.count())
            .where(tasks.c.job_id.in_(list(counts)))
            .group_by(tasks.c.job_id, tasks.c.status)
        )
        for job_id, status, count in grouped:
            counts[job_id][status] = int(count)
        for job in page.jobs:
            job["task_counts"] = counts[job["id"]]
    return page


def count_statuses(connection: sa.Connection, where: JobFilter) -> dict[str, int]:
    """How many jobs have each status, among those ``where`` keeps (its statuses aside)."""
    conditions = _conditions(dataclasses.replace(where, statuses=()))
    grouped = connection.execute(
        sa.select(jobs.c.status, sa.func.count()).where(*conditions).group_by(jobs.c.status)
    )
    return {status: int(count) for status, count in grouped}


def _ordering(order: JobOrder) -> list[sa.ColumnElement[Any]]:
    if order.column not in SORTABLE:
        raise ValueError(f"jobs cannot be sorted by {order.column!r}")
    columns = [jobs.c[order.column]] + ([jobs.c.id] if order.column != "id" else [])
    # NULLs (not started yet) come last either way, on SQLite and PostgreSQL alike
    return [
        (column.desc() if order.descending else column.asc()).nulls_last()
        if column.nullable
        else (column.desc() if order.descending else column.asc())
        for column in columns
    ]


def _conditions(where: JobFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if where.statuses:
        conditions.append(jobs.c.status.in_(where.statuses))
    if where.owner is not None:
        conditions.append(jobs.c.owner == where.owner)
    if where.name is not None:
        conditions.append(_matches(jobs.c.name, where.name))
    if where.project is not None:
        conditions.append(_matches(jobs.c.project_name, where.project))
    if where.submitted_after is not None:
        conditions.append(jobs.c.submitted_at >= where.submitted_after)
    if where.submitted_before is not None:
        conditions.append(jobs.c.submitted_at < where.submitted_before)
    return conditions


def _matches(column: sa.ColumnElement[Any], pattern: str) -> sa.ColumnElement[bool]:
    if "*" not in pattern:
        return column == pattern
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
    return column.like(escaped, escape="\\")
