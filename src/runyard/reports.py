"""The state of a job as users see it: the document ``runyard run --json`` prints."""

from __future__ import annotations

from typing import Any, TypedDict

import sqlalchemy as sa

from runyard.errors import UnknownJobError
from runyard.scheduler.state import TaskState
from runyard.store.jobs import WorkflowDecoder, load_executions, load_job


class TaskReport(TypedDict):
    name: str
    status: str
    result: Any  # the JSON value, or its repr when the value is not JSON-able
    iteration: int
    replication: int
    executions: int
    output: str  # of the last execution
    error: str | None
    node: str | None
    variables: dict[str, Any]  # propagated to descendants
    started_at: float | None
    finished_at: float | None
    result_metadata: dict[str, Any]  # what the task's ``resultMetadata`` held: content type, file name...


class JobReport(TypedDict):
    job_id: int
    name: str
    status: str
    owner: str
    project_name: str | None
    priority: str
    variables: dict[str, Any]
    result_map: dict[str, Any]
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    parent_id: int | None
    tasks: list[TaskReport]


def job_report(connection: sa.Connection, job_id: int, decode: WorkflowDecoder) -> JobReport:
    job = load_job(connection, job_id, decode)
    if job is None:
        raise UnknownJobError(f"no job {job_id}")
    last: dict[int, tuple[str, str | None]] = {}
    for record in load_executions(connection, job_id):
        last[record.task_number] = (record.output, record.node)
    return {
        "job_id": job.id,
        "name": job.name,
        "status": job.status.value,
        "owner": job.owner,
        "project_name": job.project_name,
        "priority": job.priority.value,
        "variables": job.variables,
        "result_map": job.result_map,
        "submitted_at": job.submitted_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "parent_id": job.parent_id,
        "tasks": [_task_report(task, *last.get(task.number, ("", None))) for task in job.tasks.values()],
    }


def _task_report(task: TaskState, output: str, node: str | None) -> TaskReport:
    return {
        "name": task.name,
        "status": task.status.value,
        "result": task.result_json if task.result_json is not None else _repr(task),
        "iteration": task.iteration,
        "replication": task.replication,
        "executions": task.executions,
        "output": output,
        "error": task.error,
        "node": task.node or node,
        "variables": task.variables,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
        "result_metadata": task.result_metadata,
    }


def _repr(task: TaskState) -> str | None:
    return None if task.result_repr in (None, "None") else task.result_repr
