"""ProActive's ``/rest/scheduler/jobs…``: job and task state, results, logs, control, deletion, lists.

Each route is the native API's behaviour (the same platform and store calls, the same access rule: a
user reaches their own jobs, an admin everyone's) in ProActive's paths and shapes. runyard keeps a
task's output as one stream (stderr merged into stdout): ``…/log/out``, ``…/log/err`` and ``…/log/all``
answer the same text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Body, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from runyard import formats
from runyard.api.deps import EngineDep, PlatformDep
from runyard.api.errors import ApiError
from runyard.api.proactive import shapes
from runyard.api.proactive.common import (
    ILLEGAL_ARGUMENT_EXCEPTION,
    UNKNOWN_JOB_EXCEPTION,
    UNKNOWN_TASK_EXCEPTION,
    ProActiveError,
    ProActiveUser,
    proactive_router,
)
from runyard.api.routers import jobs as native
from runyard.auth import User
from runyard.formats.mapping import from_mapping
from runyard.job_logs import LogCursor, prefixed
from runyard.model import JobStatus, Priority, TaskStatus
from runyard.platform import Platform
from runyard.scheduler.state import JobState, TaskState
from runyard.store.job_endpoints import attached_services, endpoints
from runyard.store.job_listing import JobFilter, JobOrder, find_jobs
from runyard.store.jobs import load_executions, load_job
from runyard.store.signals import Signal, list_signals

router = proactive_router(prefix="/rest/scheduler")

#: The most jobs one list answers (ProActive's ``limit=-1``, "all", answers this many).
MAX_LIST = 1000
#: ProActive's sort keys (``sortParams``) and the columns runyard sorts by.
SORT_KEYS = {
    "ID": "id",
    "STATE": "status",
    "OWNER": "owner",
    "PRIORITY": "priority",
    "NAME": "name",
    "SUBMIT_TIME": "submitted_at",
    "START_TIME": "started_at",
    "FINISH_TIME": "finished_at",
}
_PENDING_JOBS = (JobStatus.PENDING,)
_RUNNING_JOBS = (JobStatus.RUNNING, JobStatus.STALLED, JobStatus.PAUSED, JobStatus.IN_ERROR)
_FINISHED_JOBS = (JobStatus.FINISHED, JobStatus.CANCELED, JobStatus.FAILED, JobStatus.KILLED)


def job_number(job_id: str) -> int:
    """ProActive takes job ids as text: one that is no job id is an unknown job."""
    if not (job_id.isascii() and job_id.isdigit() and 0 < int(job_id) <= native.MAX_ID):
        raise ProActiveError(404, f"Job {job_id[:64]} does not exist", UNKNOWN_JOB_EXCEPTION)
    return int(job_id)


def reach_job(engine: sa.Engine, user: User, job_id: str) -> int:
    """The job's number once ``user`` may reach it: 404 ``UnknownJobRestException``, 403 for another
    user's job (the native API's rule, :func:`runyard.api.routers.jobs.check_job_access`)."""
    number = job_number(job_id)
    try:
        native.check_job_access(engine, user, number)
    except ApiError as error:
        if error.status == 404:
            raise ProActiveError(404, f"Job {number} does not exist", UNKNOWN_JOB_EXCEPTION) from None
        raise
    return number


def owned_job(engine: sa.Engine, user: User, job_id: str) -> JobState:
    number = reach_job(engine, user, job_id)
    with engine.connect() as connection:
        job = load_job(connection, number, from_mapping)
    if job is None:  # removed meanwhile
        raise ProActiveError(404, f"Job {number} does not exist", UNKNOWN_JOB_EXCEPTION)
    return job


def _task(job: JobState, name: str) -> TaskState:
    task = job.tasks.get(name)
    if task is None:
        raise ProActiveError(404, f"Job {job.id} has no task {name[:255]!r}", UNKNOWN_TASK_EXCEPTION)
    return task


def _signals(engine: sa.Engine, job_id: int) -> list[Signal]:
    with engine.connect() as connection:
        return list_signals(connection, job_id)


def _last_executions(engine: sa.Engine, job_id: int) -> shapes.LastExecutions:
    with engine.connect() as connection:
        return {record.task_number: record for record in load_executions(connection, job_id)}


@router.get("/jobs/{job_id}")
def job_state(job_id: str, user: ProActiveUser, engine: EngineDep) -> dict[str, Any]:
    """``JobStateData``."""
    job = owned_job(engine, user, job_id)
    return shapes.job_state(job, _last_executions(engine, job.id), _signals(engine, job.id))


@router.get("/jobs/{job_id}/info")
def job_info(job_id: str, user: ProActiveUser, engine: EngineDep) -> dict[str, Any]:
    """``JobInfoData``."""
    job = owned_job(engine, user, job_id)
    with engine.connect() as connection:
        links = endpoints(connection, job.id), attached_services(connection, job.id)
    return shapes.job_info(job, _signals(engine, job.id), *links)


@router.get("/jobs/{job_id}/xml", response_class=PlainTextResponse)
def job_xml(job_id: str, user: ProActiveUser, engine: EngineDep) -> PlainTextResponse:
    """The workflow as the job stored it, as ProActive XML."""
    job = owned_job(engine, user, job_id)
    return PlainTextResponse(formats.dump_xml(job.workflow), media_type="application/xml")


@router.get("/jobs/{job_id}/tasks")
def task_names(job_id: str, user: ProActiveUser, engine: EngineDep) -> dict[str, Any]:
    """``RestPage<String>``: the job's task instances' names."""
    names = list(owned_job(engine, user, job_id).tasks)
    return shapes.rest_page(names, len(names))


@router.get("/jobs/{job_id}/taskstates")
def task_states(job_id: str, user: ProActiveUser, engine: EngineDep) -> dict[str, Any]:
    """``RestPage<TaskStateData>``."""
    job = owned_job(engine, user, job_id)
    last = _last_executions(engine, job.id)
    states = [shapes.task_state(job, task, last.get(task.number)) for task in job.tasks.values()]
    return shapes.rest_page(states, len(states))


@router.get("/jobs/{job_id}/tasks/{task}")
def task_state(job_id: str, task: str, user: ProActiveUser, engine: EngineDep) -> dict[str, Any]:
    """``TaskStateData``."""
    job = owned_job(engine, user, job_id)
    found = _task(job, task)
    return shapes.task_state(job, found, _last_executions(engine, job.id).get(found.number))


@router.get("/jobs/{job_id}/result")
def job_result(job_id: str, user: ProActiveUser, engine: EngineDep) -> dict[str, Any]:
    """``JobResultData``: the results of the tasks that have ended."""
    job = owned_job(engine, user, job_id)
    return shapes.job_result(job, _last_executions(engine, job.id), _signals(engine, job.id))


@router.get("/jobs/{job_id}/result/value")
def job_result_value(job_id: str, user: ProActiveUser, engine: EngineDep) -> dict[str, str | None]:
    """Task name → result value as text, for the tasks that have ended."""
    job = owned_job(engine, user, job_id)
    return {t.name: shapes.result_text(t) for t in job.tasks.values() if t.status.is_terminal}


@router.get("/jobs/{job_id}/resultmap")
def job_result_map(job_id: str, user: ProActiveUser, engine: EngineDep) -> dict[str, str]:
    """The job's ``resultMap``, values as text."""
    job = owned_job(engine, user, job_id)
    return {name: shapes.text(value) for name, value in job.result_map.items()}


def _ended_task(engine: sa.Engine, user: User, job_id: str, name: str) -> tuple[JobState, TaskState]:
    job = owned_job(engine, user, job_id)
    task = _task(job, name)
    if not task.status.is_terminal and task.status is not TaskStatus.IN_ERROR:
        message = f"Task {name[:255]} of job {job.id} has no result yet (it is {task.status.value})"
        raise ProActiveError(404, message, UNKNOWN_TASK_EXCEPTION)
    return job, task


@router.get("/jobs/{job_id}/tasks/{task}/result")
def task_result(job_id: str, task: str, user: ProActiveUser, engine: EngineDep) -> dict[str, Any]:
    """``TaskResultData`` of an ended task."""
    job, found = _ended_task(engine, user, job_id, task)
    return shapes.task_result(job, found, _last_executions(engine, job.id).get(found.number))


@router.get("/jobs/{job_id}/tasks/{task}/result/value", response_class=PlainTextResponse)
def task_result_value(job_id: str, task: str, user: ProActiveUser, engine: EngineDep) -> PlainTextResponse:
    """The result value as text (``null`` for none, as ProActive's ``String.valueOf``)."""
    _job, found = _ended_task(engine, user, job_id, task)
    value = shapes.result_text(found)
    return PlainTextResponse("null" if value is None else value)


@router.get("/jobs/{job_id}/tasks/{task}/result/serializedvalue")
def task_result_bytes(job_id: str, task: str, user: ProActiveUser, engine: EngineDep) -> Response:
    """The result serialized as Java does: its text as a ``java.lang.String``."""
    _job, found = _ended_task(engine, user, job_id, task)
    value = shapes.result_text(found)
    return Response(shapes.java_string(value or ""), media_type="application/octet-stream")


@router.get("/jobs/{job_id}/tasks/{task}/result/metadata")
def task_result_metadata(job_id: str, task: str, user: ProActiveUser, engine: EngineDep) -> dict[str, str]:
    """What the task's scripts put in ``resultMetadata`` (content type, file name...), as text."""
    _job, found = _ended_task(engine, user, job_id, task)
    return shapes.result_metadata(found)


async def _log(platform: Platform, user: User, job_id: str, task: str | None) -> PlainTextResponse:
    """The output so far of a job (each line ``[TASK] line``) or of one of its tasks, as the native
    ``GET /jobs/{id}/logs`` reads it."""
    engine = platform.engine
    job = await run_in_threadpool(owned_job, engine, user, job_id)
    if task is not None:
        _task(job, task)

    def read() -> str:
        with engine.connect() as connection:
            chunks = LogCursor().next_chunks(connection, platform.scheduler.spaces, job.id, task)
        return "".join(c.text for c in chunks) if task is not None else prefixed(chunks)

    return PlainTextResponse(await run_in_threadpool(read))


@router.get("/jobs/{job_id}/log/full", response_class=PlainTextResponse)
@router.get("/jobs/{job_id}/result/log/all", response_class=PlainTextResponse)
@router.get("/jobs/{job_id}/livelog", response_class=PlainTextResponse)
async def job_log(job_id: str, user: ProActiveUser, platform: PlatformDep) -> PlainTextResponse:
    """Every task's output, each line as ``[TASK] line``."""
    return await _log(platform, user, job_id, None)


@router.get("/jobs/{job_id}/tasks/{task}/result/log/{stream}", response_class=PlainTextResponse)
async def task_log(
    job_id: str, task: str, stream: str, user: ProActiveUser, platform: PlatformDep
) -> PlainTextResponse:
    """One task's output (``all``, ``out``, ``err`` and ``full`` alike: runyard keeps one stream)."""
    if stream not in ("all", "out", "err", "full"):
        raise ProActiveError(404, f"no task log {stream[:32]!r}: all, out, err or full")
    return await _log(platform, user, job_id, task)


def _control(platform: Platform, user: User, job_id: str, command: Callable[[int], None]) -> bool:
    command(reach_job(platform.engine, user, job_id))
    return True


@router.put("/jobs/{job_id}/kill")
def kill_job(job_id: str, user: ProActiveUser, platform: PlatformDep) -> bool:
    return _control(platform, user, job_id, platform.kill_job)


@router.put("/jobs/{job_id}/pause")
def pause_job(job_id: str, user: ProActiveUser, platform: PlatformDep) -> bool:
    return _control(platform, user, job_id, platform.pause_job)


@router.put("/jobs/{job_id}/resume")
def resume_job(job_id: str, user: ProActiveUser, platform: PlatformDep) -> bool:
    return _control(platform, user, job_id, platform.resume_job)


@router.put("/jobs/{job_id}/restartAllInErrorTasks")
def restart_in_error_tasks(job_id: str, user: ProActiveUser, platform: PlatformDep) -> bool:
    """Restart every IN_ERROR task of the job."""
    job = owned_job(platform.engine, user, job_id)
    for task in job.tasks.values():
        if task.status is TaskStatus.IN_ERROR:
            platform.restart_task(job.id, task.name)
    return True


@router.put("/jobs/{job_id}/tasks/{task}/{action}")
def control_task(job_id: str, task: str, action: str, user: ProActiveUser, platform: PlatformDep) -> bool:
    """``kill`` a task; ``restartInErrorTask`` (or ``restart``) an IN_ERROR one."""
    commands = {
        "kill": platform.kill_task,
        "restartInErrorTask": platform.restart_task,
        "restart": platform.restart_task,
    }
    command = commands.get(action)
    if command is None:
        raise ProActiveError(404, f"no task action {action[:64]!r} here: {', '.join(commands)}")
    number = reach_job(platform.engine, user, job_id)
    command(number, task)
    return True


@router.put("/jobs/{job_id}/priority/byname/{name}", status_code=204)
def set_priority(job_id: str, name: str, user: ProActiveUser, platform: PlatformDep) -> None:
    """As the native ``PUT /jobs/{id}/priority``: ``HIGH`` and ``HIGHEST`` for admins only."""
    try:
        priority = Priority(name.lower())
    except ValueError:
        choices = ", ".join(p.name for p in Priority)
        raise ProActiveError(
            400, f"no priority {name[:32]!r}: {choices}", ILLEGAL_ARGUMENT_EXCEPTION
        ) from None
    native.set_priority(
        reach_job(platform.engine, user, job_id), native.PriorityChange(priority=priority), user, platform
    )


@router.delete("/jobs/{job_id}")
def remove_job(job_id: str, user: ProActiveUser, platform: PlatformDep) -> bool:
    """Remove an ended job with its results and logs (409 while it is alive: kill it first)."""
    return _control(platform, user, job_id, platform.remove_job)


Index = Annotated[int, Query(ge=-1, le=10_000_000, description="The first job (-1: 0)")]
Limit = Annotated[int, Query(ge=-1, le=MAX_LIST, description=f"How many (-1: {MAX_LIST})")]


def _page(engine: sa.Engine, where: JobFilter, index: int, limit: int, order: JobOrder) -> dict[str, Any]:
    """``RestPage<UserJobData>`` of the jobs ``where`` keeps."""
    with engine.connect() as connection:
        page = find_jobs(
            connection, where, limit=MAX_LIST if limit < 0 else limit, offset=max(index, 0), order=order
        )
    infos = [shapes.user_job_data(shapes.listed_job_info(job)) for job in page.jobs]
    return shapes.rest_page(infos, page.total)


def _visible(user: User) -> JobFilter:
    return JobFilter(owner=None if user.is_admin else user.name)


@router.get("/jobs")
def list_job_ids(
    user: ProActiveUser, engine: EngineDep, index: Index = -1, limit: Limit = -1
) -> dict[str, Any]:
    """``RestPage<String>``: the ids of the jobs the caller sees, newest first."""
    page = _page(engine, _visible(user), index, limit, JobOrder())
    return shapes.rest_page([job["jobid"] for job in page["list"]], page["size"])


@router.get("/jobsinfo")
def list_jobs_info(
    user: ProActiveUser, engine: EngineDep, index: Index = -1, limit: Limit = -1
) -> dict[str, Any]:
    """``RestPage<UserJobData>``, newest first."""
    return _page(engine, _visible(user), index, limit, JobOrder())


JobIds = Annotated[list[str], Query(alias="jobsid", max_length=MAX_LIST, description="Job ids, in order")]


@router.get("/jobsinfolist")
def jobs_info_list(user: ProActiveUser, engine: EngineDep, job_ids: JobIds) -> list[dict[str, Any]]:
    """``List<UserJobData>`` of the given jobs, in their order; those the caller cannot reach (unknown,
    another user's) are left out."""
    return _infos(engine, user, job_ids)


@router.post("/jobsinfolist")
def jobs_info_list_posted(
    user: ProActiveUser, engine: EngineDep, job_ids: Annotated[list[str], Body(max_length=MAX_LIST)]
) -> list[dict[str, Any]]:
    """The same, the ids as a JSON list in the body."""
    return _infos(engine, user, job_ids)


def _infos(engine: sa.Engine, user: User, job_ids: list[str]) -> list[dict[str, Any]]:
    infos = []
    for job_id in job_ids:
        try:
            job = owned_job(engine, user, job_id)
        except (ProActiveError, ApiError):
            continue
        infos.append(shapes.user_job_data(shapes.job_info(job, _signals(engine, job.id))))
    return infos


@router.get("/revisionjobsinfo")
def revision_jobs_info(
    user: ProActiveUser,
    engine: EngineDep,
    index: Index = -1,
    limit: Limit = -1,
    myjobs: bool = False,
    pending: bool = True,
    running: bool = True,
    finished: bool = True,
    jobName: Annotated[str, Query(max_length=255)] = "",
    projectName: Annotated[str, Query(max_length=255)] = "",
    userName: Annotated[str, Query(max_length=255)] = "",
    status: Annotated[str, Query(max_length=255, description="Comma separated, e.g. Running,In-Error")] = "",
    sortParams: Annotated[str, Query(max_length=255)] = "ID_d",
    submittedTimeGreater: Annotated[int, Query(ge=0)] = 0,
    submittedTimeLessThan: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """``RestMapPage<Long, List<UserJobData>>`` with ProActive's filters. runyard keeps no state revision
    counter: the map's one key is always 0. Names and projects match by prefix; a user sees their own
    jobs only (``userName`` naming another user lists nothing), an admin everyone's."""
    statuses = _statuses(status, pending, running, finished)
    owner: str | None = userName or None
    if myjobs or not user.is_admin:
        if owner is not None and owner != user.name:
            return {"map": {"0": []}, "size": 0}
        owner = user.name
    where = JobFilter(
        statuses=tuple(s.value for s in statuses),
        owner=owner,
        name=f"{jobName}*" if jobName else None,
        project=f"{projectName}*" if projectName else None,
        submitted_after=submittedTimeGreater / 1000 if submittedTimeGreater else None,
        submitted_before=submittedTimeLessThan / 1000 if submittedTimeLessThan else None,
    )
    if not statuses:
        return {"map": {"0": []}, "size": 0}
    page = _page(engine, where, index, limit, _order(sortParams))
    return {"map": {"0": page["list"]}, "size": page["size"]}


def _statuses(names: str, pending: bool, running: bool, finished: bool) -> list[JobStatus]:
    """The statuses kept: ``status`` (display names or enum names) within the pending/running/finished
    sets asked for."""
    kept = [
        *(_PENDING_JOBS if pending else ()),
        *(_RUNNING_JOBS if running else ()),
        *(_FINISHED_JOBS if finished else ()),
    ]
    if not names.strip():
        return kept
    asked = set()
    for name in names.split(","):
        key = name.strip().upper().replace("-", "_")
        if key not in JobStatus.__members__:
            choices = "Pending, Running, Stalled, Paused, In-Error, Finished, Canceled, Failed, Killed"
            raise ProActiveError(
                400, f"no job status {name.strip()[:32]!r}: {choices}", ILLEGAL_ARGUMENT_EXCEPTION
            )
        asked.add(JobStatus[key])
    return [s for s in kept if s in asked]


def _order(sort_params: str) -> JobOrder:
    """The first of ProActive's ``sortParams`` (``KEY_a`` or ``KEY_d``)."""
    first = sort_params.split(",")[0].strip()
    key, _, direction = first.rpartition("_")
    if key not in SORT_KEYS or direction not in ("a", "d"):
        keys = ", ".join(SORT_KEYS)
        raise ProActiveError(
            400,
            f"sortParams {first[:64]!r}: KEY_a or KEY_d with KEY one of {keys}",
            ILLEGAL_ARGUMENT_EXCEPTION,
        )
    return JobOrder(SORT_KEYS[key], descending=direction == "d")
