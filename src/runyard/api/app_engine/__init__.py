"""Cytomine's App Engine REST API at ``/app-engine/v1/…`` (and its ``GET /ping``), over
:mod:`runyard.appengine`: Cytomine's routes, wire names (camelCase out, ``param_name`` accepted in)
and error envelope, behind runyard's authentication. Left out of runyard's OpenAPI document (its
shapes are Cytomine's, described in docs/app-engine.md)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI

from runyard.api.app_engine import execution, runs, stores, tasks
from runyard.api.limits import Uploads

PREFIX = "/app-engine/v1"

#: The multipart routes, whose bodies go to disk: they may be as large as ``app_engine_max_upload_bytes``.
UPLOAD_ROUTES = [
    ("POST", re.compile(re.escape(PREFIX) + pattern))
    for pattern in (
        r"/tasks",
        r"/task-runs/[^/]+/input-provisions/[^/]+(/indexes)?",
        r"/task-runs/[^/]+/[^/]+/outputs\.zip",
    )
] + [
    # The portal's uploads (NiceGUI's route): bundles and input files of its App Engine page. The
    # portal's other uploads (workflows, catalog objects) refuse a file past their own bound.
    ("POST", re.compile(r"/_nicegui/client/[^/]+/upload/[^/]+"))
]


def uploads(max_bytes: int) -> Uploads:
    return Uploads(UPLOAD_ROUTES, max_bytes)


ping = APIRouter()


@ping.get("/ping")
async def app_engine_ping() -> dict[str, str]:
    """Cytomine's health check (no authentication, as upstream)."""
    return {"status": "UP", "timestamp": datetime.now(UTC).isoformat(), "service": "app-engine"}


def include(app: FastAPI) -> None:
    app.include_router(ping, include_in_schema=False)
    for router in (tasks.router, execution.router, runs.router, stores.router):
        app.include_router(router, prefix=PREFIX, include_in_schema=False)
