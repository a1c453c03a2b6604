"""``/app-engine/v1/tasks/…/runs`` and ``/app-engine/v1/task-runs/…``: runs created, provisioned,
started, read and deleted.

A run is its owner's: every ``task-runs/{run}`` route answers 404 ``APPE-internal-run-not-found-error``
to anyone else (an admin aside), as for a run that does not exist.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from runyard.api.app_engine import run_files
from runyard.api.app_engine.common import AppEngineUser, app_engine_router, storage_of
from runyard.api.deps import ConfigDep, EngineDep
from runyard.appengine import execution, files, provisioning, tasks
from runyard.appengine import runs as runs_
from runyard.appengine.descriptor import Descriptor
from runyard.appengine.errors import RUN_STATE, AppEngineError
from runyard.appengine.provisioning import PROVISIONS_NOT_FOUND
from runyard.appengine.storage import Storage
from runyard.auth import User
from runyard.server.config import ServerConfig

router = app_engine_router(tags=["app engine"])

#: Largest GeoJSON sidecar of an image (the second part of a multipart provision).
MAX_SIDECAR_BYTES = 4 * 1024 * 1024
Index = Annotated[str, Query(alias="value", max_length=200, description="Index path: i or i/j/…")]


# ---------------------------------------------------------------------------------------------------
# Runs


@router.post("/tasks/{namespace}/{version}/runs")
def create_run_by_name(
    namespace: str, version: str, request: Request, user: AppEngineUser, engine: EngineDep
) -> dict[str, Any]:
    return _create(engine, storage_of(request), (namespace, version), user)


@router.post("/tasks/{task_id}/runs")
def create_run_by_id(
    task_id: str, request: Request, user: AppEngineUser, engine: EngineDep
) -> dict[str, Any]:
    return _create(engine, storage_of(request), task_id, user)


def _create(engine: sa.Engine, storage: Storage, task: tasks.TaskRef, user: User) -> dict[str, Any]:
    with engine.begin() as connection:
        row = tasks.get_task(connection, task)
        run = runs_.create_run(connection, storage, row["id"], user)
        return runs_.run_out(run, tasks.task_out(row))


@router.get("/tasks/{namespace}/{version}/runs")
def list_runs(namespace: str, version: str, user: AppEngineUser, engine: EngineDep) -> list[dict[str, Any]]:
    """The caller's runs of the task (an admin: everyone's)."""
    with engine.connect() as connection:
        row = tasks.get_task(connection, (namespace, version))
        task = tasks.task_out(row)
        return [runs_.run_out(run, task) for run in runs_.list_runs(connection, row["id"], user)]


@router.get("/task-runs/{run_id}")
def get_run(run_id: str, user: AppEngineUser, engine: EngineDep, response: Response) -> dict[str, Any]:
    """Cytomine's TaskRun; runyard's job of the run and the reason of its state (why it FAILED) ride in
    headers, the body keeping Cytomine's shape (see :func:`runyard.appengine.runs.detail_headers`)."""
    with engine.connect() as connection:
        run = runs_.get_run(connection, run_id, user)
        response.headers.update(runs_.detail_headers(run))
        return runs_.run_detail(run, tasks.task_out(tasks.get_task(connection, run["task_id"])))


@router.delete("/task-runs/{run_id}")
def delete_run(run_id: str, request: Request, user: AppEngineUser, engine: EngineDep) -> Response:
    """The run, its folders, and its job killed if it has not ended."""
    with provisioning.run_lock(run_id), engine.begin() as connection:
        run = runs_.get_run(connection, run_id, user, for_update=True)
        runs_.delete_run(connection, storage_of(request), run)
    return Response(status_code=200)


# ---------------------------------------------------------------------------------------------------
# Provisioning


@router.put("/task-runs/{run_id}/input-provisions/{parameter}")
async def provision_one(
    run_id: str, parameter: str, request: Request, user: AppEngineUser, engine: EngineDep, config: ConfigDep
) -> dict[str, Any]:
    """One input from JSON ``{"parameterName" (or "param_name"), "type"?, "value"}``."""
    given = provisioning.parse_provision(await _json(request), parameter)
    echoes = await run_in_threadpool(
        _provision, engine, config, storage_of(request), run_id, user, [given], False
    )
    return echoes[0]


@router.put("/task-runs/{run_id}/input-provisions")
async def provision_batch(
    run_id: str, request: Request, user: AppEngineUser, engine: EngineDep, config: ConfigDep
) -> list[dict[str, Any]]:
    """Several inputs at once, all checked before any is written (errors reported together)."""
    given = provisioning.parse_batch(await _json(request))
    return await run_in_threadpool(_provision, engine, config, storage_of(request), run_id, user, given, True)


def _provision(
    engine: sa.Engine,
    config: ServerConfig,
    storage: Storage,
    run_id: str,
    user: User,
    given: list[provisioning.Provision],
    batch: bool,
) -> list[dict[str, Any]]:
    with provisioning.run_lock(run_id), engine.begin() as connection:
        run = runs_.get_run(connection, run_id, user, for_update=True)
        descriptor = tasks.task_descriptor(tasks.get_task(connection, run["task_id"]))
        _, echoes = provisioning.provision(
            connection, storage, run, descriptor, given, datasets=config.app_engine_datasets, batch=batch
        )
        return echoes


@router.post("/task-runs/{run_id}/input-provisions/{parameter}")
async def provision_file(
    run_id: str, parameter: str, request: Request, user: AppEngineUser, engine: EngineDep
) -> dict[str, Any]:
    """A file or image input from a multipart body: its first part is the file, an optional second
    part the image's GeoJSON sidecar."""
    storage = storage_of(request)
    async with run_files.uploaded(request, storage, MAX_SIDECAR_BYTES) as (source, sidecar):

        def provision() -> dict[str, Any]:
            with provisioning.run_lock(run_id), engine.begin() as connection:
                run = runs_.get_run(connection, run_id, user, for_update=True)
                descriptor = tasks.task_descriptor(tasks.get_task(connection, run["task_id"]))
                _, echo = provisioning.provision_binary(
                    connection, storage, run, descriptor, parameter, source, sidecar
                )
                return echo

        return await run_in_threadpool(provision)


@router.put("/task-runs/{run_id}/input-provisions/{parameter}/indexes")
async def provision_item(
    run_id: str, parameter: str, index: Index, request: Request, user: AppEngineUser, engine: EngineDep
) -> dict[str, Any]:
    """One item of an array input, from JSON ``{"value": …}``."""
    body = await _json(request)
    if not isinstance(body, dict) or "value" not in body:
        raise provisioning.json_error()
    storage = storage_of(request)

    def provision() -> dict[str, Any]:
        with provisioning.run_lock(run_id), engine.begin() as connection:
            run = runs_.get_run(connection, run_id, user, for_update=True)
            descriptor = tasks.task_descriptor(tasks.get_task(connection, run["task_id"]))
            item = provisioning.array_item(descriptor, parameter, index)
            _, echo = provisioning.provision_item(
                connection, storage, run, descriptor, item, value=body["value"]
            )
            return echo

    return await run_in_threadpool(provision)


@router.post("/task-runs/{run_id}/input-provisions/{parameter}/indexes")
async def provision_item_file(
    run_id: str, parameter: str, index: Index, request: Request, user: AppEngineUser, engine: EngineDep
) -> dict[str, Any]:
    """One file or image item of an array input, from a multipart body (as a whole file input)."""
    storage = storage_of(request)
    async with run_files.uploaded(request, storage, MAX_SIDECAR_BYTES) as (source, sidecar):

        def provision() -> dict[str, Any]:
            with provisioning.run_lock(run_id), engine.begin() as connection:
                run = runs_.get_run(connection, run_id, user, for_update=True)
                descriptor = tasks.task_descriptor(tasks.get_task(connection, run["task_id"]))
                item = provisioning.array_item(descriptor, parameter, index)
                _, echo = provisioning.provision_item(
                    connection, storage, run, descriptor, item, source=source, sidecar=sidecar
                )
                return echo

        return await run_in_threadpool(provision)


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, RecursionError):  # a UnicodeDecodeError is a ValueError
        raise provisioning.json_error() from None


# ---------------------------------------------------------------------------------------------------
# State actions


@router.post("/task-runs/{run_id}/state-actions")
async def state_action(
    run_id: str, request: Request, user: AppEngineUser, engine: EngineDep, config: ConfigDep
) -> dict[str, Any]:
    """``{"desired": "PROVISIONED"}`` (from CREATED, once every input is provisioned) or
    ``{"desired": "RUNNING"}`` (from PROVISIONED: the run is started as a runyard job)."""
    body = await _json(request)
    desired = body.get("desired") if isinstance(body, dict) else None
    if not isinstance(desired, str):
        raise provisioning.json_error()
    resource = await run_in_threadpool(
        _state_action, engine, storage_of(request), run_id, user, desired, config.app_engine_max_ram_bytes
    )
    return {"status": "success", "resource": resource}


def _state_action(
    engine: sa.Engine, storage: Storage, run_id: str, user: User, desired: str, max_ram: int | None
) -> dict[str, Any]:
    with provisioning.run_lock(run_id), engine.begin() as connection:
        run = runs_.get_run(connection, run_id, user, for_update=True)
        task = tasks.get_task(connection, run["task_id"])
        descriptor = tasks.task_descriptor(task)
        if desired == runs_.PROVISIONED:
            if run["state"] != runs_.CREATED:
                raise runs_.state_error(f"the run is {run['state']}, not CREATED")
            run = provisioning.recompute(connection, run, descriptor)
            if run["state"] != runs_.PROVISIONED:
                raise _not_provisioned(descriptor, run)
        elif desired == runs_.RUNNING:
            if run["state"] == runs_.CREATED:  # a task with nothing left to provision starts at once
                run = provisioning.recompute(connection, run, descriptor)
                if run["state"] == runs_.CREATED:
                    raise _not_provisioned(descriptor, run)
            if run["state"] != runs_.PROVISIONED:
                raise runs_.state_error(
                    f"the run is {run['state']}: it can be started only once, from PROVISIONED"
                )
            files.check_matching(descriptor, provisioning.plain_values(run["provisions"]), outputs=False)
            execution.check_resources(task["descriptor"], max_ram)
            provisioning.discard_staging(storage, run["id"])
            execution.launch(connection, run["id"])  # QUEUING now, the job submitted once this commits
            run = runs_.get_run(connection, run_id, user)
        else:
            raise runs_.state_error("unknown state in transition request")
        return runs_.run_detail(run, tasks.task_out(task))


def _not_provisioned(descriptor: Any, run: runs_.Run) -> AppEngineError:
    missing = ", ".join(provisioning.missing_inputs(descriptor, run["provisions"]))
    return AppEngineError(403, PROVISIONS_NOT_FOUND, f"the run is not provisioned: missing {missing}")


# ---------------------------------------------------------------------------------------------------
# Reads: inputs and outputs


@router.get("/task-runs/{run_id}/inputs")
def get_inputs(run_id: str, user: AppEngineUser, engine: EngineDep) -> list[dict[str, Any]]:
    """The provisioned inputs as ParameterValues (403 while the run is CREATED)."""
    run, descriptor = _readable(engine, run_id, user, outputs=False)
    return run_files.input_values(run, descriptor)


@router.get("/task-runs/{run_id}/inputs.zip")
def get_inputs_zip(
    run_id: str, request: Request, user: AppEngineUser, engine: EngineDep
) -> StreamingResponse:
    run, _ = _readable(engine, run_id, user, outputs=False)
    archive = run_files.inputs_zip(storage_of(request), run)
    return run_files.zip_response(archive, f"inputs-{run['id']}.zip")


@router.get("/task-runs/{run_id}/input/{parameter}")
def get_input(
    run_id: str, parameter: str, request: Request, user: AppEngineUser, engine: EngineDep, config: ConfigDep
) -> Response:
    """One input's file (a folder zipped); ``{parameter}.geojson``: an image's GeoJSON sidecar."""
    run, descriptor = _readable(engine, run_id, user, outputs=False)
    return run_files.parameter_file(
        storage_of(request), run, descriptor, parameter, outputs=False, datasets=config.app_engine_datasets
    )


@router.get("/task-runs/{run_id}/input/{parameter}/indexes")
def get_input_item(
    run_id: str,
    parameter: str,
    index: Index,
    request: Request,
    user: AppEngineUser,
    engine: EngineDep,
    config: ConfigDep,
) -> Response:
    run, descriptor = _readable(engine, run_id, user, outputs=False)
    return run_files.item_file(
        storage_of(request),
        run,
        descriptor,
        parameter,
        index,
        outputs=False,
        datasets=config.app_engine_datasets,
    )


@router.get("/task-runs/{run_id}/outputs")
def get_outputs(run_id: str, user: AppEngineUser, engine: EngineDep) -> list[dict[str, Any]]:
    """The outputs as ParameterValues (403 unless the run is FINISHED)."""
    run, descriptor = _readable(engine, run_id, user, outputs=True)
    return run_files.output_values(run, descriptor)


@router.get("/task-runs/{run_id}/outputs.zip")
def get_outputs_zip(
    run_id: str, request: Request, user: AppEngineUser, engine: EngineDep
) -> StreamingResponse:
    run, descriptor = _readable(engine, run_id, user, outputs=True)
    archive = run_files.outputs_zip(storage_of(request), run, descriptor)
    return run_files.zip_response(archive, f"outputs-{run['id']}.zip")


@router.get("/task-runs/{run_id}/output/{parameter}")
def get_output(
    run_id: str, parameter: str, request: Request, user: AppEngineUser, engine: EngineDep
) -> Response:
    run, descriptor = _readable(engine, run_id, user, outputs=True)
    return run_files.parameter_file(storage_of(request), run, descriptor, parameter, outputs=True)


@router.get("/task-runs/{run_id}/output/{parameter}/indexes")
def get_output_item(
    run_id: str, parameter: str, index: Index, request: Request, user: AppEngineUser, engine: EngineDep
) -> Response:
    run, descriptor = _readable(engine, run_id, user, outputs=True)
    return run_files.item_file(storage_of(request), run, descriptor, parameter, index, outputs=True)


def _readable(engine: sa.Engine, run_id: str, user: User, *, outputs: bool) -> tuple[runs_.Run, Descriptor]:
    """The caller's run and its task's descriptor, once its inputs may be read (not CREATED) or its
    outputs (FINISHED); 403 otherwise."""
    with engine.connect() as connection:
        run = runs_.get_run(connection, run_id, user)
        if outputs and run["state"] != runs_.FINISHED:
            raise AppEngineError(
                403, RUN_STATE, f"the run is {run['state']}: its outputs are read once it is FINISHED"
            )
        if not outputs and run["state"] == runs_.CREATED:
            raise AppEngineError(403, RUN_STATE, "the run is not provisioned yet: its inputs cannot be read")
        descriptor = tasks.task_descriptor(tasks.get_task(connection, run["task_id"]))
    return run, descriptor
