"""``/app-engine/v1/stores…`` and ``POST tasks/{namespace}/{version}/install`` (Cytomine's routes,
:mod:`runyard.appengine.stores`). Stores are the server's: an admin adds, removes or makes one the
default; every user lists them and installs tasks from the default one."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool

from runyard.api.app_engine.common import AppEngineUser, app_engine_router, storage_of
from runyard.api.app_engine.tasks import EXPANSION
from runyard.api.deps import ConfigDep, EngineDep
from runyard.appengine import stores, tasks
from runyard.appengine.errors import AppEngineError
from runyard.auth import User

router = app_engine_router(tags=["app engine"])


def _admin(user: User) -> None:
    if not user.is_admin:
        raise AppEngineError(403, "APPE-runyard-forbidden", "only an admin may change the app stores")


@router.post("/stores")
async def add_store(request: Request, user: AppEngineUser, engine: EngineDep) -> Any:
    """Add an app store ``{name, host, defaultStore}`` (an admin): 200 AppStore."""
    _admin(user)
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        raise AppEngineError(400, stores.INVALID_STORE, "the body is not JSON") from None
    return stores.store_out(await run_in_threadpool(stores.add_store, engine, body))


@router.get("/stores")
def list_stores(user: AppEngineUser, engine: EngineDep) -> Any:
    with engine.connect() as connection:
        return [stores.store_out(row) for row in stores.list_stores(connection)]


@router.get("/stores/default")
def get_default_store(user: AppEngineUser, engine: EngineDep) -> Any:
    with engine.connect() as connection:
        return stores.store_out(stores.default_store(connection))


@router.put("/stores/{store_id}/default")
def make_default_store(store_id: str, user: AppEngineUser, engine: EngineDep) -> Any:
    _admin(user)
    return stores.store_out(stores.make_default(engine, store_id))


@router.delete("/stores/{store_id}")
def remove_store(store_id: str, user: AppEngineUser, engine: EngineDep) -> Response:
    _admin(user)
    stores.remove_store(engine, store_id)
    return Response(status_code=200)


@router.post("/tasks/{namespace}/{version}/install")
async def install_task(
    namespace: str, version: str, request: Request, user: AppEngineUser, engine: EngineDep, config: ConfigDep
) -> Any:
    """Download the task from the default app store and register it, as its upload by the caller would:
    200 TaskDescription."""
    row = await run_in_threadpool(
        lambda: stores.install(
            engine,
            storage_of(request),
            (namespace, version),
            user.name,
            max_download=config.app_engine_max_upload_bytes,
            max_bytes=EXPANSION * config.app_engine_max_upload_bytes,
            registry=config.app_engine_image_registry,
        )
    )
    return tasks.task_out(row)
