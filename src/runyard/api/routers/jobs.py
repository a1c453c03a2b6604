"""Jobs: submit, list, state, results, logs, control, events.

A user sees and controls their own jobs; an admin sees all. Another user's job answers 403,
a job that does not exist 404.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Collection
from concurrent.futures import Future
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from runyard import formats
from runyard.api.change_waits import MAX_WAIT_SECONDS
from runyard.api.deps import EngineDep, EventsDep, LastEventIdDep, PlatformDep, WithLogs
from runyard.api.errors import ApiError
from runyard.api.events import Subscription, sse
from runyard.api.idempotency import IdempotencyKey, KeyLocks
from runyard.api.security import CurrentUser, may_see
from runyard.auth import User
from runyard.catalog.metadata import WorkflowMetadata, metadata_of
from runyard.catalog.submitted import read_from_catalog, read_submitted, uses_credentials
from runyard.credentials import Vault
from runyard.errors import Problem, WorkflowError
from runyard.formats.mapping import from_mapping
from runyard.job_graph import JobGraph, job_graph
from runyard.job_logs import LogCursor, prefixed
from runyard.model import JobStatus, Priority, Workflow
from runyard.platform import Platform
from runyard.reports import JobReport, TaskReport, job_report
from runyard.scheduler.state import JobState
from runyard.store.job_listing import SORTABLE, JobFilter, JobOrder, count_statuses, find_jobs
from runyard.store.jobs import job_owner, job_status, load_job
from runyard.store.submission_keys import KeyedJob, job_of_key

router = APIRouter(prefix="/jobs", tags=["jobs"])

Scalar = str | int | float | bool
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the store
JobId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
LOG_POLL_SECONDS = 0.25
_WORKFLOW_TYPES = {"application/xml": "xml", "text/xml": "xml", "application/yaml": "yaml",
                   "application/x-yaml": "yaml", "text/yaml": "yaml"}  # fmt: skip


class CatalogRef(BaseModel):
    bucket: str = Field(min_length=1, max_length=255)
    name: str = Field(min_length=1, max_length=255)
    revision: int | None = Field(default=None, ge=1)


class Submission(BaseModel):
    """Exactly one of ``workflow`` (XML or YAML text) and ``catalog``."""

    workflow: str | None = None
    catalog: CatalogRef | None = None
    variables: dict[str, Scalar] = {}
    generic_information: dict[str, Scalar] = {}


class Submitted(BaseModel):
    id: int
    name: str
    status: str


class CheckedSubmission(BaseModel):
    """What ``POST /jobs/validate`` found: ``valid`` when a submission would be accepted."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)  # a problem's fields too

    valid: bool
    workflow: WorkflowMetadata | None
    """The workflow's metadata; ``None`` when it could not be read (the problems say why)."""
    problems: list[Problem]


class JobFields(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)  # always sent

    id: int
    name: str
    owner: str
    project_name: str | None
    status: str
    priority: str
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    parent_id: int | None = None
    """The job whose task submitted this one (ProActive's ``parentId``)."""


class JobSummary(JobFields):
    task_counts: dict[str, int] = {}


class JobList(BaseModel):
    jobs: list[JobSummary]
    total: int
    limit: int
    offset: int


class TaskOut(BaseModel):
    name: str
    status: str
    iteration: int
    replication: int
    executions: int
    node: str | None
    error: str | None
    result: Any
    variables: dict[str, Any]
    started_at: float | None
    finished_at: float | None


class JobOut(JobFields):
    variables: dict[str, Any]
    result_map: dict[str, Any]
    tasks: list[TaskOut]


class JobResult(BaseModel):
    id: int
    status: str
    results: dict[str, Any]
    """Task name → result value (JSON value, or the value's repr when it is not JSON)."""
    errors: dict[str, str]
    result_map: dict[str, Any]


class TaskResult(BaseModel):
    job_id: int
    task: str
    status: str
    value: Any
    error: str | None
    metadata: dict[str, Any] = {}  # what the task's ``resultMetadata`` held (``content.type``...)


class JobStatusOut(BaseModel):
    id: int
    status: str


class PriorityChange(BaseModel):
    priority: Priority


_SUBMISSION_BODY = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": Submission.model_json_schema(ref_template="#/components/schemas/{model}")
            },
            "application/xml": {"schema": {"type": "string"}},
            "application/yaml": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "variables": {"type": "string", "description": "JSON object"},
                        "generic_information": {"type": "string", "description": "JSON object"},
                    },
                    "required": ["file"],
                }
            },
        },
        "required": True,
    }
}


#: Variables or generic information given beside a raw XML or YAML body.
Overrides = Annotated[list[str] | None, Query(description="KEY=VALUE, with an XML or YAML body")]


@router.post("", response_model=Submitted, status_code=201, openapi_extra=_SUBMISSION_BODY)
async def submit(
    request: Request,
    user: CurrentUser,
    platform: PlatformDep,
    var: Overrides = None,
    gi: Overrides = None,
    idempotency_key: IdempotencyKey = None,
) -> Submitted:
    """Submit a workflow: JSON ``Submission``; raw XML/YAML body (overrides in ``var``/``gi``);
    or a multipart ``file`` with optional ``variables`` and ``generic_information`` JSON parts.

    With an ``Idempotency-Key`` header, a retry with the same key gets the job of the first request."""
    submission = await _read_submission(request, var, gi)
    key = idempotency_key
    if key is None:
        return await queue_submission(request, platform, user, submission, None)
    locks: KeyLocks = request.app.state.submission_keys
    async with locks.hold(user.name, key):
        known = await run_in_threadpool(_job_of_key, platform.engine, user.name, key)
        if known is not None:
            return Submitted(id=known.id, name=known.name, status=known.status)
        return await queue_submission(request, platform, user, submission, key)


@router.post("/validate", response_model=CheckedSubmission, openapi_extra=_SUBMISSION_BODY)
async def validate(
    request: Request,
    user: CurrentUser,
    platform: PlatformDep,
    var: Overrides = None,
    gi: Overrides = None,
) -> CheckedSubmission:
    """Every check a submission makes, nothing submitted: the same bodies as ``POST /jobs``.

    Answers the problems found (each located: ``field`` is ``variable 'NAME'`` for a variable's value)
    and, when the workflow could be read, its metadata (variables with models, groups, descriptions)."""
    submission = await _read_submission(request, var, gi)
    return await run_in_threadpool(check_submission, platform, request.app.state.vault, user, submission)


async def _read_submission(request: Request, var: list[str] | None, gi: list[str] | None) -> Submission:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json":
        return _parse_json(await request.body())
    if media in _WORKFLOW_TYPES:
        text = _text(await request.body())
        return Submission(workflow=text, variables=_pairs(var, "var"), generic_information=_pairs(gi, "gi"))
    if media == "multipart/form-data":
        return await _parse_multipart(request)
    raise ApiError(
        415,
        "unsupported_media_type",
        f"cannot submit a {media or 'body without Content-Type'}: "
        "send application/json, application/xml, application/yaml or multipart/form-data",
    )


async def queue_submission(
    request: Request, platform: Platform, user: User, submission: Submission, key: str | None
) -> Submitted:
    """Store the job (in a thread) and wait for the scheduler to take it, without holding a thread."""
    stored = await run_in_threadpool(_submit, platform, request.app.state.vault, user, submission, key)
    job = await asyncio.wrap_future(stored)  # the scheduler's turn, awaited without holding a thread
    return Submitted(id=job.id, name=job.name, status="PENDING")


def _job_of_key(engine: sa.Engine, owner: str, key: str) -> KeyedJob | None:
    with engine.connect() as connection:
        return job_of_key(connection, owner, key, now=time.time())


@dataclasses.dataclass(frozen=True)
class _Job:
    """A submission read: the workflow and what the platform's checks take with it."""

    workflow: Workflow
    variables: dict[str, str]
    generic_information: dict[str, str]
    owner: str
    credentials: Collection[str] | None
    parent_id: int | None


def _job(platform: Platform, vault: Vault, user: User, submission: Submission) -> _Job:
    """Read ``submission`` (``WorkflowError`` if its workflow cannot be read)."""
    if (submission.workflow is None) == (submission.catalog is None):
        raise ApiError(400, "invalid_request", "give exactly one of 'workflow' and 'catalog'")
    workflow = _workflow(platform, user, submission)
    credentials = None
    if uses_credentials(workflow):
        with platform.engine.connect() as connection:
            credentials = vault.names(connection, user.name)
    return _Job(
        workflow,
        {k: _string(v) for k, v in submission.variables.items()},
        {k: _string(v) for k, v in submission.generic_information.items()},
        user.name,
        credentials,
        user.job,  # a task's job token makes its job the parent: the platform's record, not the request's
    )


def _submit(
    platform: Platform, vault: Vault, user: User, submission: Submission, key: str | None
) -> Future[JobState]:
    """Check and queue the job (``WorkflowError`` if wrong); the future is answered once it is stored."""
    job = _job(platform, vault, user, submission)
    return platform.submit_later(
        job.workflow,
        job.variables,
        job.generic_information,
        owner=job.owner,
        credentials=job.credentials,
        parent_id=job.parent_id,
        submission_key=key,  # stored with the job: a crash cannot keep the job and lose its key
    )


def check_submission(
    platform: Platform, vault: Vault, user: User, submission: Submission
) -> CheckedSubmission:
    """What submitting would say (problems, warnings), without queuing anything."""
    try:
        job = _job(platform, vault, user, submission)
    except WorkflowError as error:
        return CheckedSubmission(valid=False, workflow=None, problems=list(error.problems))
    try:
        platform.prepare(
            job.workflow,
            job.variables,
            job.generic_information,
            owner=job.owner,
            credentials=job.credentials,
            parent_id=job.parent_id,
        )
    except WorkflowError as error:
        problems = list(error.problems)
    else:
        problems = []
    return CheckedSubmission(valid=not problems, workflow=metadata_of(job.workflow), problems=problems)


def _workflow(platform: Platform, user: User, submission: Submission) -> Workflow:
    with platform.engine.connect() as connection:
        if submission.catalog is not None:
            ref = submission.catalog
            return read_from_catalog(connection, user, ref.bucket, ref.name, ref.revision)
        return read_submitted(connection, user, (submission.workflow or "").encode(), "<submitted workflow>")


_SORT = f"^-?({'|'.join(SORTABLE)})$"


async def job_filter(
    user: CurrentUser,
    status: Annotated[list[str] | None, Query(description="Any of these statuses")] = None,
    owner: Annotated[str | None, Query(description="Only an admin may list other users' jobs")] = None,
    name: Annotated[str | None, Query(max_length=255, description="Name; '*' matches anything")] = None,
    project: Annotated[str | None, Query(max_length=255, description="Project; '*' matches anything")] = None,
    submitted_after: Annotated[float | None, Query(description="Epoch seconds")] = None,
    submitted_before: Annotated[float | None, Query(description="Epoch seconds")] = None,
) -> JobFilter:
    """A user sees their own jobs; an admin everyone's (or ``owner``'s)."""
    if not user.is_admin:
        if owner is not None and owner != user.name:
            raise ApiError(403, "forbidden", "only an admin may list other users' jobs")
        owner = user.name
    return JobFilter(
        tuple(s.upper() for s in status or ()), owner, name, project, submitted_after, submitted_before
    )


JobFilterDep = Annotated[JobFilter, Depends(job_filter)]


@router.get("", response_model=JobList)
def list_jobs(
    where: JobFilterDep,
    engine: EngineDep,
    sort: Annotated[
        str, Query(pattern=_SORT, description=f"One of {', '.join(SORTABLE)}; '-' first: descending")
    ] = "-id",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> JobList:
    """Newest first unless ``sort`` says otherwise (then by id the same way; jobs not started or not
    finished come last). A user sees their own jobs; an admin everyone's (or ``owner``'s)."""
    order = JobOrder(sort.lstrip("-"), descending=sort.startswith("-"))
    with engine.connect() as connection:
        page = find_jobs(connection, where, limit=limit, offset=offset, order=order)
    return JobList(
        jobs=[JobSummary.model_validate(job) for job in page.jobs],
        total=page.total,
        limit=limit,
        offset=offset,
    )


@router.get("/status-counts", response_model=dict[str, int])
def status_counts(where: JobFilterDep, engine: EngineDep) -> dict[str, int]:
    """How many of the jobs ``GET /jobs`` would list have each status (its ``status`` filter aside)."""
    with engine.connect() as connection:
        return count_statuses(connection, where)


@router.get("/{job_id}", response_model=JobOut)
async def get_job(
    job_id: JobId,
    user: CurrentUser,
    engine: EngineDep,
    events: EventsDep,
    wait: Annotated[
        float, Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for the job to end")
    ] = 0,
) -> JobOut:
    """The job's state, with every task instance. With ``wait``, answers once the job has ended, or after
    ``wait`` seconds with its state then: its status says which (a PAUSED or IN_ERROR job has not ended).
    The request is held without polling: it hears the job's end as its event stream does."""
    if wait == 0:
        report = await run_in_threadpool(_report, engine, user, job_id)
    else:
        with events.subscribe(user, job_id) as subscription:  # before reading: the end cannot slip by
            ended = await run_in_threadpool(_ended_report, engine, user, job_id)
            if ended is None:
                await _job_end(subscription, wait)
        report = ended if ended is not None else await run_in_threadpool(_report, engine, user, job_id)
    return JobOut.model_validate({**report, "id": job_id})  # task outputs are left out: see /logs


async def _job_end(subscription: Subscription, timeout: float) -> None:
    """Return once the job's final status is heard, its stream ends (then read it again) or at ``timeout``."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            event = await subscription.next(remaining)
        except TimeoutError:
            return
        if event is None or (event["kind"] == "job" and not JobStatus(event["status"]).is_alive):
            return


@router.get("/{job_id}/result", response_model=JobResult)
def get_result(job_id: JobId, user: CurrentUser, engine: EngineDep) -> JobResult:
    report = _report(engine, user, job_id)
    return JobResult(
        id=job_id,
        status=report["status"],
        results={t["name"]: t["result"] for t in report["tasks"] if t["status"] == "FINISHED"},
        errors={t["name"]: t["error"] for t in report["tasks"] if t["error"]},
        result_map=report["result_map"],
    )


@router.get("/{job_id}/result-map", response_model=dict[str, Any])
def get_result_map(job_id: JobId, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    return _report(engine, user, job_id)["result_map"]


@router.get(
    "/{job_id}/workflow",
    response_class=PlainTextResponse,
    responses={200: {"content": {"application/yaml": {}, "application/xml": {}}}},
)
def get_workflow(
    job_id: JobId,
    user: CurrentUser,
    engine: EngineDep,
    format: Annotated[Literal["yaml", "xml"], Query(description="The workflow's format")] = "yaml",
) -> PlainTextResponse:
    """The workflow as the job stored it: task references expanded (their origin in the generic
    information ``runyard.from``), so it shows what ran."""
    job = _job_state(engine, user, job_id)
    if format == "xml":
        return PlainTextResponse(formats.dump_xml(job.workflow), media_type="application/xml")
    return PlainTextResponse(formats.dump_yaml(job.workflow), media_type="application/yaml")


@router.get("/{job_id}/graph", response_model=JobGraph)
def get_graph(job_id: JobId, user: CurrentUser, engine: EngineDep) -> JobGraph:
    """The task instances as they ran (replicas ``Process*1``, iterations ``Loop#2``) and the links
    between them: ``dependency``, ``replicate``, ``if``, ``else``, ``continuation``, ``loop``."""
    return job_graph(_job_state(engine, user, job_id))


@router.get("/{job_id}/tasks/{task}", response_model=TaskOut)
def get_task(job_id: JobId, task: str, user: CurrentUser, engine: EngineDep) -> TaskOut:
    found = _task_report(engine, user, job_id, task)
    return TaskOut.model_validate(found)


@router.get("/{job_id}/tasks/{task}/result", response_model=TaskResult)
def get_task_result(job_id: JobId, task: str, user: CurrentUser, engine: EngineDep) -> TaskResult:
    found = _task_report(engine, user, job_id, task)
    return TaskResult(
        job_id=job_id,
        task=task,
        status=found["status"],
        value=found["result"],
        error=found["error"],
        metadata=found["result_metadata"],
    )


@router.get(
    "/{job_id}/logs", response_class=PlainTextResponse, responses={200: {"content": {"text/plain": {}}}}
)
async def get_logs(
    job_id: JobId,
    user: CurrentUser,
    platform: PlatformDep,
    task: Annotated[str | None, Query(max_length=255, description="One task's output, unprefixed")] = None,
    follow: Annotated[bool, Query(description="Stream until the job ends")] = False,
) -> Response:
    """Output of the job's tasks (each line as ``[TASK] line``), or of one task; ``follow`` streams."""
    await run_in_threadpool(check_job_access, platform.engine, user, job_id)
    cursor = LogCursor()

    def read() -> str:
        with platform.engine.connect() as connection:
            chunks = cursor.next_chunks(connection, platform.scheduler.spaces, job_id, task)
        return "".join(c.text for c in chunks) if task is not None else prefixed(chunks)

    if not follow:
        return PlainTextResponse(await run_in_threadpool(read))

    async def stream() -> AsyncIterator[str]:
        while True:
            alive = job_id in platform.alive_jobs()
            text = await run_in_threadpool(read)
            if text:
                yield text
            if not alive:  # read once more after the end: nothing written before it is missed
                return
            await asyncio.sleep(LOG_POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/plain; charset=utf-8")


@router.get("/{job_id}/events", responses={200: {"content": {"text/event-stream": {}}}})
async def job_events(
    job_id: JobId,
    user: CurrentUser,
    platform: PlatformDep,
    events: EventsDep,
    last_event_id: LastEventIdDep,
    logs: WithLogs = False,
) -> StreamingResponse:
    """Server-sent events of one job (its output too with ``logs``), ending after the job's final status
    (at once if it has ended); ``Last-Event-ID`` resumes as ``GET /events`` does."""
    await run_in_threadpool(check_job_access, platform.engine, user, job_id)
    # Before reading the status: no event can slip between.
    subscription = events.subscribe(user, job_id, last_event_id, logs=logs)
    status = await run_in_threadpool(platform.status, job_id)

    async def stream() -> AsyncIterator[str]:
        if not status.is_alive:
            with subscription:
                document = {"id": 0, "kind": "job", "job_id": job_id, "task": None, "status": status.value}
                yield ": subscribed\n\n"
                yield f"event: job\ndata: {json.dumps(document)}\n\n"
            return
        async for chunk in sse(subscription, until_job_ends=True):
            yield chunk

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.post("/{job_id}/{action}", response_model=JobStatusOut)
def control_job(
    job_id: JobId, action: Literal["kill", "pause", "resume"], user: CurrentUser, platform: PlatformDep
) -> JobStatusOut:
    """Kill (running tasks aborted), pause (no task starts) or resume a job."""
    check_job_access(platform.engine, user, job_id)
    {"kill": platform.kill_job, "pause": platform.pause_job, "resume": platform.resume_job}[action](job_id)
    return JobStatusOut(id=job_id, status=platform.status(job_id).value)


@router.post("/{job_id}/tasks/{task}/{action}", response_model=TaskOut)
def control_task(
    job_id: JobId,
    task: str,
    action: Literal["kill", "pause", "resume", "restart"],
    user: CurrentUser,
    platform: PlatformDep,
) -> TaskOut:
    """Kill a task, pause or resume a waiting one, restart an IN_ERROR one."""
    check_job_access(platform.engine, user, job_id)
    commands = {
        "kill": platform.kill_task,
        "pause": platform.pause_task,
        "resume": platform.resume_task,
        "restart": platform.restart_task,
    }
    commands[action](job_id, task)
    return get_task(job_id, task, user, platform.engine)


@router.put("/{job_id}/priority", response_model=PriorityChange)
def set_priority(
    job_id: JobId, change: PriorityChange, user: CurrentUser, platform: PlatformDep
) -> PriorityChange:
    """Users may choose up to ``normal``; ``high`` and ``highest`` are for admins (as in ProActive)."""
    check_job_access(platform.engine, user, job_id)
    if change.priority.rank > Priority.NORMAL.rank and not user.is_admin:
        raise ApiError(403, "forbidden", f"only an admin may give priority {change.priority}")
    platform.set_priority(job_id, change.priority)
    return change


@router.delete("/{job_id}", status_code=204)
def delete_job(job_id: JobId, user: CurrentUser, platform: PlatformDep) -> Response:
    """Remove an ended job with its results and logs (409 while it is alive)."""
    check_job_access(platform.engine, user, job_id)
    platform.remove_job(job_id)
    return Response(status_code=204)


def check_job_access(engine: sa.Engine, user: User, job_id: JobId) -> None:
    """404 for an unknown job, 403 for another user's (unless ``user`` is an admin)."""
    with engine.connect() as connection:
        owner = job_owner(connection, job_id)
    if owner is None:
        raise ApiError(404, "not_found", f"no job {job_id}")
    if not may_see(user, owner):
        raise ApiError(403, "forbidden", f"job {job_id} belongs to another user")


def _report(engine: sa.Engine, user: User, job_id: JobId) -> JobReport:
    check_job_access(engine, user, job_id)
    with engine.connect() as connection:
        return job_report(connection, job_id, from_mapping)


def _ended_report(engine: sa.Engine, user: User, job_id: JobId) -> JobReport | None:
    """The job's report once it has ended, ``None`` while it is alive."""
    check_job_access(engine, user, job_id)
    with engine.connect() as connection:
        status = job_status(connection, job_id)
        if status is not None and status.is_alive:
            return None
        return job_report(connection, job_id, from_mapping)


def _job_state(engine: sa.Engine, user: User, job_id: JobId) -> JobState:
    check_job_access(engine, user, job_id)
    with engine.connect() as connection:
        job = load_job(connection, job_id, from_mapping)
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id}")
    return job


def _task_report(engine: sa.Engine, user: User, job_id: JobId, task: str) -> TaskReport:
    for found in _report(engine, user, job_id)["tasks"]:
        if found["name"] == task:
            return found
    raise ApiError(404, "not_found", f"job {job_id} has no task {task!r}")


def _parse_json(body: bytes) -> Submission:
    try:
        return Submission.model_validate_json(body)
    except ValidationError as error:
        details = [
            {"location": list(e["loc"]), "message": e["msg"], "type": e["type"]} for e in error.errors()
        ]
        message = "; ".join(f"{'.'.join(map(str, d['location'])) or 'body'}: {d['message']}" for d in details)
        raise ApiError(400, "invalid_request", message, details) from None


async def _parse_multipart(request: Request) -> Submission:
    async with request.form() as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                400, "invalid_request", "the multipart body needs a 'file' part holding the workflow"
            )
        return Submission(
            workflow=_text(await upload.read()),
            variables=_json_map(form.get("variables"), "variables"),
            generic_information=_json_map(form.get("generic_information"), "generic_information"),
        )


def _json_map(part: Any, name: str) -> dict[str, Scalar]:
    if part is None:
        return {}
    text = part if isinstance(part, str) else ""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ApiError(400, "invalid_request", f"part '{name}' is not JSON: {error}") from None
    if not isinstance(value, dict) or not all(isinstance(v, Scalar) for v in value.values()):
        raise ApiError(400, "invalid_request", f"part '{name}' must be a JSON object of strings or numbers")
    return value


def _pairs(items: list[str] | None, option: str) -> dict[str, Scalar]:
    result: dict[str, Scalar] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ApiError(400, "invalid_request", f"query '{option}' expects KEY=VALUE, got {item!r}")
        result[key] = value
    return result


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(400, "invalid_request", f"the workflow is not UTF-8 text: {error}") from None


def _string(value: Scalar) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
