"""Finding jobs for lists: filters, paging and per-status task counts, without loading workflows."""

from __future__ import annotations

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


def find_jobs(connection: sa.Connection, where: JobFilter, *, limit: int, offset: int) -> JobPage:
    """Newest first; each job with ``task_counts`` (status → number of task instances)."""
    conditions = _conditions(where)
    total = connection.execute(sa.select(sa.func.count()).select_from(jobs).where(*conditions)).scalar_one()
    rows = connection.execute(
        sa.select(*_SUMMARY).where(*conditions).order_by(jobs.c.id.desc()).limit(limit).offset(offset)
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
