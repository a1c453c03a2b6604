"""Reading and writing jobs, task instances and executions.

Only the scheduler writes (one writer); readers (CLI, API) use :func:`load_job` and
:func:`load_executions`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from runyard.model import JobStatus, OnTaskError, Priority, TaskStatus, Workflow
from runyard.scheduler.state import JobState, TaskState
from runyard.store.schema import executions, jobs, submission_keys, tasks
from runyard.store.submission_keys import remember_key

log = logging.getLogger(__name__)

WorkflowDecoder = Callable[[dict[str, Any]], Workflow]

_ALIVE = [s.value for s in JobStatus if s.is_alive]


#: Columns written when a row is inserted, never by a save: the workflow as submitted, and the parent
#: (cleared in the store when the parent is removed, whatever a live job's state in memory says).
_INSERTED_ONLY = frozenset({"workflow", "parent_id"})


def _update(table: sa.Table, *keys: str) -> sa.Update:
    """An UPDATE of every column but the keys, by bound parameters (compiled once, then cached)."""
    where = [table.c[key] == sa.bindparam(f"b_{key}") for key in keys]
    values: dict[str, Any] = {
        c.name: sa.bindparam(c.name) for c in table.c if c.name not in keys and c.name not in _INSERTED_ONLY
    }
    return sa.update(table).where(*where).values(values)


_INSERT_JOBS = sa.insert(jobs).returning(jobs.c.id, sort_by_parameter_order=True)
_UPDATE_JOB = _update(jobs, "id")
_UPDATE_TASK = _update(tasks, "job_id", "number")


def insert_jobs(connection: sa.Connection, new: Sequence[tuple[JobState, dict[str, Any]]]) -> None:
    """Store new jobs (each with its workflow mapping) and their first instances, setting their ids.

    Two statements whatever their number: one turn's submissions cost a few round trips in all.
    """
    if not new:
        return
    rows = [{**_job_row(job), "workflow": workflow, "parent_id": job.parent_id} for job, workflow in new]
    ids = connection.execute(_INSERT_JOBS, rows).scalars().all()
    task_rows: list[dict[str, Any]] = []
    for (job, _), job_id in zip(new, ids, strict=True):
        job.id = int(job_id)
        for task in job.tasks.values():
            task_rows.append({**_task_row(task), "job_id": job.id, "number": task.number})
            task.stored = True
    connection.execute(sa.insert(tasks), task_rows)
    for job, _ in new:
        if (
            job.submission_key is not None
        ):  # in the job's own transaction: a crash cannot keep one without the other
            remember_key(connection, job.owner, job.submission_key, job.id, now=job.submitted_at)


def save_job(connection: sa.Connection, job: JobState) -> None:
    connection.execute(_UPDATE_JOB, {**_job_row(job), "b_id": job.id})


def save_tasks(connection: sa.Connection, job: JobState, names: Iterable[str]) -> None:
    """Insert new instances and update changed ones, each kind in one batch."""
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for name in names:
        task = job.tasks[name]
        row = _task_row(task)
        if task.stored:
            changed.append({**row, "b_job_id": job.id, "b_number": task.number})
        else:
            new.append({**row, "job_id": job.id, "number": task.number})
            task.stored = True
    if new:
        connection.execute(sa.insert(tasks), new)
    if changed:
        connection.execute(_UPDATE_TASK, changed)


@dataclass(frozen=True)
class ExecutionRecord:
    """One execution of a task instance, as kept in the store."""

    task_number: int
    execution: int
    node: str | None
    outcome: str
    started_at: float | None
    finished_at: float | None
    output: str
    error: str | None


def record_executions(connection: sa.Connection, job_id: int, records: Iterable[ExecutionRecord]) -> None:
    """Store the records in one statement; one already stored (same task instance and execution) is kept
    and the new one dropped with a warning, rather than the whole turn failing (and the scheduler
    stopping) on it. The scheduler records an execution once, when its lease closes: this is a guard."""
    fresh: dict[tuple[int, int], dict[str, Any]] = {}
    for record in records:
        key = (record.task_number, record.execution)
        if key in fresh:
            _warn_twice(job_id, f"execution {key[1]} of task instance {key[0]} ({record.outcome})")
        else:
            fresh[key] = {"job_id": job_id, **vars(record)}  # flat: no need for asdict's deep copy
    if not fresh:
        return
    result = connection.execute(_insert_new(connection.dialect.name), list(fresh.values()))
    if 0 <= result.rowcount < len(fresh):
        _warn_twice(job_id, f"{len(fresh) - result.rowcount} of {len(fresh)} executions already stored")


def _warn_twice(job_id: int, what: str) -> None:
    log.warning("job %s: %s recorded twice: the first record is kept", job_id, what)


@functools.cache
def _insert_new(dialect: str) -> sa.Insert:
    """An INSERT of execution records that skips those already stored (both dialects say it alike)."""
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    return insert(executions).on_conflict_do_nothing()


def job_status(connection: sa.Connection, job_id: int) -> JobStatus | None:
    status = connection.execute(sa.select(jobs.c.status).where(jobs.c.id == job_id)).scalar()
    return None if status is None else JobStatus(status)


def alive_job_ids(connection: sa.Connection) -> list[int]:
    rows = connection.execute(sa.select(jobs.c.id).where(jobs.c.status.in_(_ALIVE)).order_by(jobs.c.id))
    return [int(r.id) for r in rows]


def load_job(connection: sa.Connection, job_id: int, decode: WorkflowDecoder) -> JobState | None:
    row = connection.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
    if row is None:
        return None
    task_rows = connection.execute(
        sa.select(tasks).where(tasks.c.job_id == job_id).order_by(tasks.c.number)
    ).mappings()
    return job_from_rows(row, task_rows, decode)


def job_document(job: JobState) -> dict[str, Any]:
    """A job as JSON-able rows (the scheduler's event log keeps submitted jobs so); see :func:`job_from_rows`.
    Its workflow is left out: the caller keeps its mapping."""
    return {
        "job": {**_job_row(job), "id": job.id, "parent_id": job.parent_id},
        "tasks": [{**_task_row(task), "number": task.number} for task in job.tasks.values()],
    }


def job_from_rows(
    row: Mapping[Any, Any], task_rows: Iterable[Mapping[Any, Any]], decode: WorkflowDecoder
) -> JobState:
    """A job from its stored row (with its ``workflow`` mapping) and its task rows, in number order."""
    job = JobState(
        id=row["id"],
        name=row["name"],
        owner=row["owner"],
        workflow=decode(row["workflow"]),
        variables=row["variables"],
        generic_information=row["generic_information"],
        priority=Priority(row["priority"]),
        on_task_error=OnTaskError(row["on_task_error"]),
        max_number_of_execution=row["max_number_of_execution"],
        task_retry_delay=row["task_retry_delay"],
        status=JobStatus(row["status"]),
        project_name=row["project_name"],
        submitted_at=row["submitted_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        result_map=row["result_map"],
        source_dir=row["source_dir"],
        next_number=row["next_number"],
        parent_id=row["parent_id"],
    )
    for t in task_rows:
        task = TaskState(
            number=t["number"],
            name=t["name"],
            template=t["template"],
            iteration=t["iteration"],
            replication=t["replication"],
            depends=list(t["depends"]),
            status=TaskStatus(t["status"]),
            executions=t["executions"],
            failures=t["failures"],
            error_base=t["error_base"],
            node=t["node"],
            not_before=t["not_before"],
            started_at=t["started_at"],
            finished_at=t["finished_at"],
            result=t["result"],
            result_json=t["result_json"],
            result_repr=t["result_repr"],
            error=t["error"],
            variables=t["variables"],
            flow=t["flow"],
            exit_value=t["exit_value"],
            result_metadata=t["result_metadata"] or {},
            paused_from=TaskStatus(t["paused_from"]) if t["paused_from"] else None,
            stored=True,
        )
        job.tasks[task.name] = task
    return job


def load_executions(connection: sa.Connection, job_id: int) -> list[ExecutionRecord]:
    rows = connection.execute(
        sa.select(executions)
        .where(executions.c.job_id == job_id)
        .order_by(executions.c.task_number, executions.c.execution)
    ).mappings()
    return [
        ExecutionRecord(
            task_number=r["task_number"],
            execution=r["execution"],
            node=r["node"],
            outcome=r["outcome"],
            started_at=r["started_at"],
            finished_at=r["finished_at"],
            output=r["output"],
            error=r["error"],
        )
        for r in rows
    ]


def descends_from(connection: sa.Connection, job_id: int, ancestor: int) -> bool:
    """Whether ``job_id`` is ``ancestor`` or was submitted by a task of it or of one of its descendants.
    A parent is stored before its children, so the walk up only meets smaller ids."""
    current: int | None = job_id
    while current is not None and current > ancestor:
        current = connection.execute(sa.select(jobs.c.parent_id).where(jobs.c.id == current)).scalar()
    return current == ancestor


def _job_row(job: JobState) -> dict[str, Any]:
    return {
        "name": job.name,
        "owner": job.owner,
        "project_name": job.project_name,
        "status": job.status.value,
        "priority": job.priority.value,
        "on_task_error": job.on_task_error.value,
        "max_number_of_execution": job.max_number_of_execution,
        "task_retry_delay": job.task_retry_delay,
        "submitted_at": job.submitted_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "variables": job.variables,
        "generic_information": job.generic_information,
        "result_map": job.result_map,
        "source_dir": job.source_dir,
        "next_number": job.next_number,
    }


def _task_row(task: TaskState) -> dict[str, Any]:
    return {
        "name": task.name,
        "template": task.template,
        "iteration": task.iteration,
        "replication": task.replication,
        "depends": task.depends,
        "status": task.status.value,
        "executions": task.executions,
        "failures": task.failures,
        "error_base": task.error_base,
        "node": task.node,
        "not_before": task.not_before,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
        "result": task.result,
        "result_json": task.result_json,
        "result_repr": task.result_repr,
        "error": task.error,
        "variables": task.variables,
        "flow": task.flow,
        "exit_value": task.exit_value,
        "result_metadata": task.result_metadata,
        "paused_from": task.paused_from.value if task.paused_from else None,
    }


def job_owner(connection: sa.Connection, job_id: int) -> str | None:
    owner = connection.execute(sa.select(jobs.c.owner).where(jobs.c.id == job_id)).scalar()
    return None if owner is None else str(owner)


def delete_job(connection: sa.Connection, job_id: int) -> None:
    """Remove a job with its task instances, executions and idempotency keys (for ended jobs only: see
    the scheduler). Its children no longer name it: SQLite may give its id to the next job."""
    connection.execute(sa.delete(submission_keys).where(submission_keys.c.job_id == job_id))
    connection.execute(sa.update(jobs).where(jobs.c.parent_id == job_id).values(parent_id=None))
    connection.execute(sa.delete(executions).where(executions.c.job_id == job_id))
    connection.execute(sa.delete(tasks).where(tasks.c.job_id == job_id))
    connection.execute(sa.delete(jobs).where(jobs.c.id == job_id))
