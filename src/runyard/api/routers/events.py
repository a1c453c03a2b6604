"""The event stream: what the user may see happen (jobs, tasks, logs, nodes, service instances,
notifications), as server-sent events, resumable with ``Last-Event-ID``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from runyard.api.deps import EventsDep, LastEventIdDep, PlatformDep, WithLogs
from runyard.api.events import sse
from runyard.api.routers.jobs import MAX_ID, check_job_access
from runyard.api.security import CurrentUser

router = APIRouter(tags=["events"])


@router.get("/events", responses={200: {"content": {"text/event-stream": {}}}})
async def events(
    user: CurrentUser,
    hub: EventsDep,
    platform: PlatformDep,
    last_event_id: LastEventIdDep,
    job_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this job's events")] = None,
    logs: WithLogs = False,
) -> StreamingResponse:
    """``event: KIND``, ``id: EPOCH-NUMBER``, ``data: {"id", "kind", ...}`` (see docs/server.md).

    The stream starts with a ``: subscribed`` comment; every event after it is delivered. With
    ``Last-Event-ID`` the events after that one come first (or a ``reset`` event when they are no
    longer kept). With ``job_id`` and ``logs``, the job's output comes as ``log`` events. Another
    user's job answers 403.
    """
    if job_id is not None:
        await run_in_threadpool(check_job_access, platform.engine, user, job_id)
    return StreamingResponse(
        sse(hub.subscribe(user, job_id, last_event_id, logs=logs)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )
