"""``/app-engine/v1/tasks…``: task bundles uploaded, listed, read and deleted (Cytomine's routes,
:mod:`runyard.appengine.tasks`). Every authenticated user sees every task; a task is deleted by its
uploader or an admin.

Routes naming a task by id come before those naming it by namespace and version: ``tasks/{id}/inputs``
and ``tasks/{namespace}/{version}`` have as many segments (a version is semantic, never ``inputs``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from runyard.api.app_engine.common import AppEngineUser, app_engine_router, storage_of
from runyard.api.deps import ConfigDep, EngineDep
from runyard.appengine import tasks
from runyard.appengine.errors import AppEngineError
from runyard.appengine.tasks import TaskRef

router = app_engine_router(tags=["app engine"])

#: What a bundle's entries may expand to, as a multiple of the largest upload (``docker save`` writes
#: uncompressed layers, which a zip deflates 2-3 times).
EXPANSION = 4
#: Parts of an upload request read at most (Cytomine takes the first file part).
MAX_PARTS = 8
#: Headers of files an uploader wrote (descriptor, logo), whoever reads them.
UNTRUSTED = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


@router.post("/tasks")
async def upload_task(request: Request, user: AppEngineUser, engine: EngineDep, config: ConfigDep) -> Any:
    """Upload a task bundle (multipart; the first file part is the zip): 200 TaskDescription."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/"):
        raise AppEngineError(400, "APPE-internal-not-multipart", "the request is not multipart")
    form = await request.form(max_files=MAX_PARTS, max_fields=MAX_PARTS)
    try:
        files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
        if not files:
            code = "APPE-internal-no-file-but-form-field" if form else "APPE-internal-no-file-parts"
            raise AppEngineError(400, code, "no file part in the request: the bundle zip is expected")
        row = await run_in_threadpool(
            tasks.register,
            engine,
            storage_of(request),
            files[0].file,
            user.name,
            max_bytes=EXPANSION * config.app_engine_max_upload_bytes,
            registry=config.app_engine_image_registry,
        )
    finally:
        await form.close()
    return tasks.task_out(row)


@router.get("/tasks")
def list_tasks(user: AppEngineUser, engine: EngineDep) -> Any:
    with engine.connect() as connection:
        return [tasks.task_out(row) for row in tasks.list_tasks(connection)]


def _task(engine: Any, task: TaskRef) -> Any:
    with engine.connect() as connection:
        return tasks.get_task(connection, task)


@router.get("/tasks/{task_id}")
def get_task(task_id: str, user: AppEngineUser, engine: EngineDep) -> Any:
    return tasks.task_out(_task(engine, task_id))


@router.get("/tasks/{task_id}/inputs")
def get_inputs(task_id: str, user: AppEngineUser, engine: EngineDep) -> Any:
    return tasks.inputs_out(_task(engine, task_id))


@router.get("/tasks/{task_id}/outputs")
def get_outputs(task_id: str, user: AppEngineUser, engine: EngineDep) -> Any:
    return tasks.outputs_out(_task(engine, task_id))


@router.get("/tasks/{task_id}/descriptor.yml")
def get_descriptor(task_id: str, request: Request, user: AppEngineUser, engine: EngineDep) -> Response:
    return _descriptor(request, _task(engine, task_id))


@router.get("/tasks/{task_id}/logo")
def get_logo(task_id: str, request: Request, user: AppEngineUser, engine: EngineDep) -> Response:
    return _logo(request, _task(engine, task_id))


@router.get("/tasks/{namespace}/{version}")
def get_task_by_version(namespace: str, version: str, user: AppEngineUser, engine: EngineDep) -> Any:
    return tasks.task_out(_task(engine, (namespace, version)))


@router.delete("/tasks/{namespace}/{version}")
async def delete_task(
    namespace: str, version: str, request: Request, user: AppEngineUser, engine: EngineDep
) -> Response:
    """Delete the task, its runs and its image's name (its uploader or an admin): 200, empty."""
    await run_in_threadpool(tasks.delete_task, engine, storage_of(request), (namespace, version), user)
    return Response(status_code=200)


@router.get("/tasks/{namespace}/{version}/inputs")
def get_inputs_by_version(namespace: str, version: str, user: AppEngineUser, engine: EngineDep) -> Any:
    return tasks.inputs_out(_task(engine, (namespace, version)))


@router.get("/tasks/{namespace}/{version}/outputs")
def get_outputs_by_version(namespace: str, version: str, user: AppEngineUser, engine: EngineDep) -> Any:
    return tasks.outputs_out(_task(engine, (namespace, version)))


@router.get("/tasks/{namespace}/{version}/descriptor.yml")
def get_descriptor_by_version(
    namespace: str, version: str, request: Request, user: AppEngineUser, engine: EngineDep
) -> Response:
    return _descriptor(request, _task(engine, (namespace, version)))


@router.get("/tasks/{namespace}/{version}/logo")
def get_logo_by_version(
    namespace: str, version: str, request: Request, user: AppEngineUser, engine: EngineDep
) -> Response:
    return _logo(request, _task(engine, (namespace, version)))


def _descriptor(request: Request, row: Any) -> Response:
    path = tasks.descriptor_file(storage_of(request), row)
    return FileResponse(
        path, media_type="application/octet-stream", filename="descriptor.yml", headers=UNTRUSTED
    )


def _logo(request: Request, row: Any) -> Response:
    """The logo, a PNG by its magic, and whatever else its uploader put after it: served so that a
    browser never takes it for a page."""
    return FileResponse(tasks.logo_file(storage_of(request), row), media_type="image/png", headers=UNTRUSTED)
