"""Jobs: submit, list, follow, read results and logs, control (names after the ProActive Python client)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import httpx

from runyard import formats
from runyard.client.documents import CheckedSubmission, Job, JobGraph, JobList, JobResult, Task
from runyard.client.errors import WaitTimeout
from runyard.client.transport import (
    Call,
    Plan,
    Stream,
    json_body,
    no_body,
    operation,
    segment,
    streaming,
    text_body,
)
from runyard.model import JobStatus, Priority, Workflow

Scalar = str | int | float | bool
Values = Mapping[str, Scalar]
#: The columns ``list_jobs`` sorts by (what ``GET /jobs?sort=`` accepts).
SORT_COLUMNS = (
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
WAIT_STEP = 20.0
"""Seconds one request waits on the server for a job's end (it answers before the SDK's 30 s timeout)."""


class JobsApi:
    @operation
    def submit(
        self,
        workflow: Workflow | str | Path,
        variables: Values | None = None,
        generic_information: Values | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Call[int]:
        """Submit a workflow; returns the new job's id.

        ``workflow`` is a :class:`~runyard.model.Workflow` built in Python, a file (a ``Path``, or a
        ``str`` on one line not starting with ``<``) uploaded as it is, or the text of a ProActive
        XML or runyard YAML workflow. ``variables`` override the workflow's; ``generic_information``
        adds to its GI. An invalid workflow or variable raises ``ApiError`` (400,
        ``invalid_workflow``, each problem in ``details``) and creates no job.

        ``idempotency_key`` (1-255 printable ASCII characters, no space): submitting again with the
        same key, after a lost answer, returns the first submission's job instead of a second one.
        """
        body = _submission(workflow, variables, generic_information)
        return Call("POST", "/jobs", _job_id, **body, headers=_idempotency(idempotency_key))

    @operation
    def submit_from_catalog(
        self,
        bucket: str,
        name: str,
        variables: Values | None = None,
        generic_information: Values | None = None,
        revision: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Call[int]:
        """Submit the workflow ``bucket/name`` of the catalog (its latest revision, or ``revision``);
        ``idempotency_key`` as with :meth:`submit`."""
        body = _catalog_submission(bucket, name, revision, variables, generic_information)
        return Call("POST", "/jobs", _job_id, json=body, headers=_idempotency(idempotency_key))

    @operation
    def validate_submission(
        self,
        workflow: Workflow | str | Path,
        variables: Values | None = None,
        generic_information: Values | None = None,
    ) -> Call[CheckedSubmission]:
        """Every check :meth:`submit` makes, nothing submitted: the problems it would refuse with (each
        located; a variable's ``field`` is ``variable 'NAME'``) and the workflow's variables as a form
        shows them. ``workflow`` as with :meth:`submit`."""
        body = _submission(workflow, variables, generic_information)
        return Call("POST", "/jobs/validate", json_body, **body)

    @operation
    def validate_catalog_submission(
        self,
        bucket: str,
        name: str,
        variables: Values | None = None,
        generic_information: Values | None = None,
        revision: int | None = None,
    ) -> Call[CheckedSubmission]:
        """:meth:`validate_submission` of the catalog workflow ``bucket/name`` (its latest revision, or
        ``revision``)."""
        body = _catalog_submission(bucket, name, revision, variables, generic_information)
        return Call("POST", "/jobs/validate", json_body, json=body)

    @operation
    def list_jobs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        owner: str | None = None,
        name: str | None = None,
        project: str | None = None,
        submitted_after: float | None = None,
        submitted_before: float | None = None,
        sort: str = "-id",
        limit: int = 50,
        offset: int = 0,
    ) -> Call[JobList]:
        """A page of jobs, newest first: yours (an admin sees everyone's, or ``owner``'s).

        ``status`` keeps jobs with any of the statuses given; ``name`` and ``project`` may hold ``*``.
        ``sort`` is one of :data:`SORT_COLUMNS`, ``-`` first for descending (``-submitted_at``).
        """
        params = _filters(status, owner, name, project, submitted_after, submitted_before)
        params += [("sort", sort), ("limit", limit), ("offset", offset)]
        return Call("GET", "/jobs", json_body, params=params)

    @operation
    def count_job_statuses(
        self,
        *,
        owner: str | None = None,
        name: str | None = None,
        project: str | None = None,
        submitted_after: float | None = None,
        submitted_before: float | None = None,
    ) -> Call[dict[str, int]]:
        """Status → how many of the jobs :meth:`list_jobs` would list with these filters have it."""
        params = _filters(None, owner, name, project, submitted_after, submitted_before)
        return Call("GET", "/jobs/status-counts", json_body, params=params)

    @operation
    def get_job(self, job_id: int) -> Call[Job]:
        """The job's state, with every task instance (``Process*1``, ``Loop#2``...)."""
        return Call("GET", _job(job_id), json_body)

    @operation
    def get_job_status(self, job_id: int) -> Call[str]:
        """``PENDING``, ``RUNNING``, ``FINISHED``... (ProActive's job statuses)."""
        return Call("GET", _job(job_id), _field("status"))

    @operation
    def wait_for_job(self, job_id: int, timeout: float | None = None) -> Plan[Job]:
        """Wait until the job ends; returns its final state. No polling: each request is held by the
        server until it hears the job's end among its events (up to 20 s, then asked again).

        Raises ``WaitTimeout`` if it has not ended after ``timeout`` seconds. A PAUSED or IN_ERROR job
        has not ended: it waits for someone.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = WAIT_STEP if deadline is None else max(0.0, deadline - time.monotonic())
            wait = min(remaining, WAIT_STEP)
            job: Job = yield Call("GET", _job(job_id), json_body, params={"wait": wait}, held=wait)
            if not JobStatus(job["status"]).is_alive:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(f"job {job_id} did not end within {timeout} s")

    @operation
    def get_job_result(self, job_id: int) -> Call[JobResult]:
        """Results of the FINISHED tasks by task name, errors of failed ones, and the result map."""
        return Call("GET", f"{_job(job_id)}/result", json_body)

    @operation
    def get_job_result_map(self, job_id: int) -> Call[dict[str, Any]]:
        """What the tasks put in ``resultMap``."""
        return Call("GET", f"{_job(job_id)}/result-map", json_body)

    @operation
    def get_job_workflow(self, job_id: int, format: Literal["yaml", "xml"] = "yaml") -> Call[str]:
        """The workflow as the job stored it (task references expanded): what ran."""
        return Call("GET", f"{_job(job_id)}/workflow", text_body, params={"format": format})

    @operation
    def get_job_graph(self, job_id: int) -> Call[JobGraph]:
        """The task instances as they ran and their links: dependencies and control flow."""
        return Call("GET", f"{_job(job_id)}/graph", json_body)

    @operation
    def get_task(self, job_id: int, task: str) -> Call[Task]:
        return Call("GET", _task(job_id, task), json_body)

    @operation
    def get_task_result(self, job_id: int, task: str) -> Call[Any]:
        """The task's result value (``None`` until it has one); ``get_task`` tells why it failed."""
        return Call("GET", f"{_task(job_id, task)}/result", _field("value"))

    @operation
    def get_job_output(self, job_id: int) -> Call[str]:
        """What the job's tasks printed so far, each line prefixed with ``[TASK]``."""
        return Call("GET", f"{_job(job_id)}/logs", text_body)

    @operation
    def get_task_output(self, job_id: int, task: str) -> Call[str]:
        """What one task printed so far (its last execution), unprefixed."""
        return Call("GET", f"{_job(job_id)}/logs", text_body, params={"task": task})

    @streaming
    def follow_logs(self, job_id: int, task: str | None = None) -> Stream[str]:
        """The output lines of the job (or of one task) as they are written, until the job ends."""
        params: dict[str, Any] = {"follow": "true", **({"task": task} if task is not None else {})}
        return Stream(f"{_job(job_id)}/logs", _lines, params=params)

    @operation
    def kill_job(self, job_id: int) -> Call[str]:
        """Kill the job (running tasks are aborted); returns its new status."""
        return Call("POST", f"{_job(job_id)}/kill", _field("status"))

    @operation
    def pause_job(self, job_id: int) -> Call[str]:
        """No task of the job starts until it is resumed (running ones go on); returns its new status."""
        return Call("POST", f"{_job(job_id)}/pause", _field("status"))

    @operation
    def resume_job(self, job_id: int) -> Call[str]:
        return Call("POST", f"{_job(job_id)}/resume", _field("status"))

    @operation
    def kill_task(self, job_id: int, task: str) -> Call[Task]:
        return Call("POST", f"{_task(job_id, task)}/kill", json_body)

    @operation
    def pause_task(self, job_id: int, task: str) -> Call[Task]:
        """The task does not start until resumed."""
        return Call("POST", f"{_task(job_id, task)}/pause", json_body)

    @operation
    def resume_task(self, job_id: int, task: str) -> Call[Task]:
        return Call("POST", f"{_task(job_id, task)}/resume", json_body)

    @operation
    def restart_task(self, job_id: int, task: str) -> Call[Task]:
        """Run an IN_ERROR task again (with a new set of executions)."""
        return Call("POST", f"{_task(job_id, task)}/restart", json_body)

    @operation
    def set_priority(self, job_id: int, priority: Priority | str) -> Call[None]:
        """``idle`` … ``normal`` for users; ``high`` and ``highest`` for admins."""
        return Call("PUT", f"{_job(job_id)}/priority", no_body, json={"priority": str(priority)})

    @operation
    def delete_job(self, job_id: int) -> Call[None]:
        """Remove an ended job with its results and logs."""
        return Call("DELETE", _job(job_id), no_body)


def _job(job_id: int) -> str:
    return f"/jobs/{segment(job_id)}"


def _task(job_id: int, task: str) -> str:
    return f"{_job(job_id)}/tasks/{segment(task)}"


def _job_id(response: httpx.Response) -> int:
    job_id: int = response.json()["id"]
    return job_id


def _field(name: str) -> Callable[[httpx.Response], Any]:
    return lambda response: response.json()[name]


def _lines() -> Callable[[str], Iterable[str]]:
    return lambda line: (line,)


def _submission(
    workflow: Workflow | str | Path, variables: Values | None, generic_information: Values | None
) -> dict[str, Any]:
    """The body of a submission of ``workflow`` (see :meth:`JobsApi.submit`), as ``Call`` arguments."""
    if isinstance(workflow, str) and "\n" not in workflow and not workflow.lstrip().startswith("<"):
        workflow = Path(workflow)
    if isinstance(workflow, Path):
        files = {"file": (workflow.name, workflow.read_bytes(), _media_type(workflow))}
        data = {
            "variables": json.dumps(dict(variables or {})),
            "generic_information": json.dumps(dict(generic_information or {})),
        }
        return {"files": files, "data": data}
    text = formats.dump_yaml(workflow) if isinstance(workflow, Workflow) else workflow
    body = {
        "workflow": text,
        "variables": dict(variables or {}),
        "generic_information": dict(generic_information or {}),
    }
    return {"json": body}


def _catalog_submission(
    bucket: str,
    name: str,
    revision: int | None,
    variables: Values | None,
    generic_information: Values | None,
) -> dict[str, Any]:
    return {
        "catalog": {"bucket": bucket, "name": name, "revision": revision},
        "variables": dict(variables or {}),
        "generic_information": dict(generic_information or {}),
    }


def _media_type(path: Path) -> str:
    return "application/xml" if path.suffix.lower() == ".xml" else "application/yaml"


def _idempotency(key: str | None) -> dict[str, str] | None:
    return None if key is None else {"Idempotency-Key": key}


def _filters(
    status: str | Iterable[str] | None,
    owner: str | None,
    name: str | None,
    project: str | None,
    submitted_after: float | None,
    submitted_before: float | None,
) -> list[tuple[str, Any]]:
    statuses = [status] if isinstance(status, str) else list(status or ())
    optional = {
        "owner": owner,
        "name": name,
        "project": project,
        "submitted_after": submitted_after,
        "submitted_before": submitted_before,
    }
    return [("status", s) for s in statuses] + [
        (key, value) for key, value in optional.items() if value is not None
    ]
