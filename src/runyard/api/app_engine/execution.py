"""The routes of a run's execution (:mod:`runyard.appengine.execution`).

For the node-side runner, with the job token of the run's job as the platform records it (any other
token, a session included, gets 404 as for a run that does not exist):
``GET task-runs/{run}/execution`` (what to run), ``…/execution/image.tar``, ``…/execution/inputs.zip``
(cluster mode), ``POST …/execution/started`` (→ RUNNING), ``POST …/execution/finished``
(``{"exitCode": N}``: the outputs are read, local mode), ``GET …/execution/state``.

Cytomine's ``POST task-runs/{run}/{secret}/outputs.zip`` (cluster mode): the secret in the path is the
authentication, as upstream (compared in constant time), accepted while the run is QUEUING, QUEUED,
PENDING or RUNNING. ``GET task-runs/{run}/logs``: the task's output (the container's logs), for the
run's owner (or an admin), followed while the job runs.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Body, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse

from runyard.api.app_engine import run_files
from runyard.api.app_engine.common import AppEngineUser, app_engine_router
from runyard.api.deps import EngineDep
from runyard.api.security import token_of
from runyard.appengine import execution as runs_execution
from runyard.appengine import runner
from runyard.appengine.descriptor import descriptor_of
from runyard.appengine.errors import RUN_NOT_FOUND, RUN_STATE, AppEngineError
from runyard.appengine.execution import (
    ACTIVE,
    IMAGE_TAR,
    Execution,
    Row,
    execution_of,
    find_run,
    find_task,
    job_of_run,
)
from runyard.auth.job_tokens import JobTokens
from runyard.job_logs import LogCursor
from runyard.model import JobStatus
from runyard.store.schema import jobs

router = app_engine_router(tags=["app engine"])
#: Seconds between two reads of a running job's log.
LOG_POLL = 0.5


def _not_found() -> AppEngineError:
    return AppEngineError(404, RUN_NOT_FOUND, "task run not found")


def runner_run(request: Request, engine: sa.Engine, run_id: str) -> Row:
    """The run ``run_id`` if the request carries the job token of the job the platform records for it,
    that job alive; 404 otherwise."""
    token = token_of(request) or ""
    tokens: JobTokens = request.app.state.job_tokens
    job = tokens.verify(token)
    if job is None:
        raise _not_found()
    job_id, owner = job
    with engine.connect() as connection:
        run = find_run(connection, run_id)
        if run is None or run["owner"] != owner or job_of_run(connection, run) != job_id:
            raise _not_found()
        status = connection.execute(sa.select(jobs.c.status).where(jobs.c.id == job_id)).scalar()
    if status is None or not JobStatus(status).is_alive:
        raise _not_found()
    return run


def _find(engine: sa.Engine, run_id: str) -> Row | None:
    with engine.connect() as connection:
        return find_run(connection, run_id)


def _execution(engine: sa.Engine) -> Execution:
    return execution_of(engine)


@router.get("/task-runs/{run_id}/execution")
async def get_execution(run_id: str, request: Request, engine: EngineDep) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        run = runner_run(request, engine, run_id)
        with engine.connect() as connection:
            return _execution(engine).execution_of(connection, run, str(request.base_url).rstrip("/"))

    return await run_in_threadpool(read)


@router.get("/task-runs/{run_id}/execution/state")
async def get_execution_state(run_id: str, request: Request, engine: EngineDep) -> dict[str, Any]:
    def read() -> dict[str, Any]:
        runner_run(request, engine, run_id)
        return _execution(engine).state_of(run_id)

    return await run_in_threadpool(read)


@router.post("/task-runs/{run_id}/execution/started")
async def execution_started(run_id: str, request: Request, engine: EngineDep) -> dict[str, Any]:
    def report() -> dict[str, Any]:
        runner_run(request, engine, run_id)
        _execution(engine).started(run_id)
        return _execution(engine).state_of(run_id)

    return await run_in_threadpool(report)


@router.post("/task-runs/{run_id}/execution/finished")
async def execution_finished(
    run_id: str, request: Request, engine: EngineDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    code = body.get("exitCode")
    if code is not None and not isinstance(code, int):
        raise AppEngineError(400, RUN_STATE, "exitCode: an integer")

    def report() -> dict[str, Any]:
        runner_run(request, engine, run_id)
        return _execution(engine).finished(run_id, code)

    return await run_in_threadpool(report)


@router.get("/task-runs/{run_id}/execution/image.tar")
async def execution_image(run_id: str, request: Request, engine: EngineDep) -> FileResponse:
    def find() -> str:
        run = runner_run(request, engine, run_id)
        tar = _execution(engine).storage.task_folder(run["task_id"]) / IMAGE_TAR
        if not tar.is_file():
            raise AppEngineError(404, "APPE-internal-task-not-found", "the task's image tar is not kept")
        return str(tar)

    return FileResponse(await run_in_threadpool(find), media_type="application/x-tar")


@router.get("/task-runs/{run_id}/execution/inputs.zip")
async def execution_inputs(run_id: str, request: Request, engine: EngineDep) -> FileResponse:
    """The run's inputs, zipped (regular files and folders, links never followed), with the dataset
    files its referenced arrays name, as files (cluster mode's node has no datasets folder)."""

    def build() -> str:
        run = runner_run(request, engine, run_id)
        execution = _execution(engine)
        referenced = runs_execution.referenced_files(run, execution.datasets)
        handle, path = tempfile.mkstemp(prefix="app-engine-inputs-", suffix=".zip")
        try:
            with os.fdopen(handle, "wb") as out:
                runner.zip_folder(
                    execution.storage.run_inputs(run["id"]),
                    out,
                    max_members=runs_execution.MAX_OUTPUTS_MEMBERS,
                    max_bytes=runs_execution.MAX_OUTPUTS_BYTES,
                    extra=referenced,
                )
        except BaseException:
            os.unlink(path)
            raise
        return path

    path = await run_in_threadpool(build)
    from starlette.background import BackgroundTask

    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"inputs-{run_id}.zip",
        background=BackgroundTask(os.unlink, path),
    )


@router.post("/task-runs/{run_id}/{secret}/outputs.zip")
async def upload_outputs(
    run_id: str, secret: str, request: Request, engine: EngineDep
) -> list[dict[str, Any]]:
    """Cytomine's outputs upload (cluster mode): the first part of the multipart body is the zip."""
    run = await run_in_threadpool(_find, engine, run_id)
    if run is None or not hmac.compare_digest(str(run["secret"]).encode(), secret.encode()):
        raise AppEngineError(
            403, "APPE-scheduler-unauthenticated-output-provisioning", "unauthenticated outputs provisioning"
        )
    if run["state"] not in ACTIVE:
        raise AppEngineError(403, RUN_STATE, "invalid task run state")
    form = await request.form()
    try:
        parts = [value for _, value in form.multi_items() if not isinstance(value, str)]
        if not parts:
            raise AppEngineError(400, "APPE-internal-no-file-parts", "no file part in the request")
        part: UploadFile = parts[0]  # type: ignore[assignment]

        def receive() -> list[dict[str, Any]]:
            state = _execution(engine).uploaded(run["id"], part.file)
            if state["state"] != "FINISHED":
                reason = state["reason"] or "invalid outputs"
                raise AppEngineError(400, "APPE-internal-task-run-missing-outputs", reason)
            with engine.connect() as connection:
                stored = find_run(connection, run["id"])
                assert stored is not None
                task = find_task(connection, stored["task_id"])
            return run_files.output_values(stored, descriptor_of(task["descriptor"]))

        return await run_in_threadpool(receive)
    finally:
        await form.close()


@router.get("/task-runs/{run_id}/logs")
async def run_logs(
    run_id: str, request: Request, engine: EngineDep, user: AppEngineUser
) -> StreamingResponse:
    """The task's output: the container's logs (and the runner's lines), followed while the job runs."""

    def find() -> int | None:
        with engine.connect() as connection:
            run = find_run(connection, run_id)
        if run is None or not (run["owner"] == user.name or user.is_admin):
            raise _not_found()
        return None if run["job_id"] is None else int(run["job_id"])

    job_id = await run_in_threadpool(find)
    spaces = request.app.state.platform.scheduler.spaces

    def next_text(cursor: LogCursor) -> tuple[str, bool]:
        assert job_id is not None
        with engine.connect() as connection:
            alive_status = connection.execute(sa.select(jobs.c.status).where(jobs.c.id == job_id)).scalar()
            chunks = cursor.next_chunks(connection, spaces, job_id)
        alive = alive_status is not None and JobStatus(alive_status).is_alive
        return "".join(chunk.text for chunk in chunks), alive

    async def follow() -> AsyncIterator[bytes]:
        if job_id is None:
            return
        cursor = LogCursor()
        while True:
            text, alive = await run_in_threadpool(next_text, cursor)
            if text:
                yield text.encode()
            if not alive:
                text, _ = await run_in_threadpool(next_text, cursor)
                if text:
                    yield text.encode()
                return
            await asyncio.sleep(LOG_POLL)

    return StreamingResponse(follow(), media_type="text/plain")
