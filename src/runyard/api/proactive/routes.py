"""Every router of ProActive's REST, in the order the app includes them (the fallback last)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request

from runyard.api.proactive import (
    data,
    rm,
    scheduler_credentials,
    scheduler_events,
    scheduler_jobs,
    scheduler_signals,
    scheduler_submit,
    sessions,
)
from runyard.api.proactive.common import ProActiveError, proactive_router

fallback = proactive_router(prefix="/rest")


@fallback.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"])
def unknown(path: str, request: Request) -> None:
    """A path under ``/rest`` runyard does not serve: ProActive's 404, not runyard's own."""
    raise ProActiveError(
        404, f"runyard serves no {request.method} /rest/{path[:255]}: see docs/proactive-rest.md"
    )


def include(app: FastAPI) -> None:
    """ProActive's ``/rest/…`` routes, left out of runyard's OpenAPI document (their shapes are
    ProActive's, described in ``docs/proactive-rest.md``)."""
    for router in routers():
        app.include_router(router, include_in_schema=False)


def routers() -> list[APIRouter]:
    return [
        sessions.common,
        sessions.scheduler,
        sessions.rm,
        scheduler_submit.router,  # before scheduler_jobs: POST /jobs{;matrix} and the resubmit paths
        scheduler_jobs.router,
        scheduler_credentials.router,
        scheduler_signals.router,
        scheduler_events.router,
        rm.router,
        data.router,
        fallback,
    ]
