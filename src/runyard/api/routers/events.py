"""The event stream: job and task status changes the user may see, as server-sent events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from runyard.api.deps import EventsDep
from runyard.api.events import sse
from runyard.api.routers.jobs import MAX_ID
from runyard.api.security import CurrentUser

router = APIRouter(tags=["events"])


@router.get("/events", responses={200: {"content": {"text/event-stream": {}}}})
async def events(
    user: CurrentUser,
    hub: EventsDep,
    job_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this job's events")] = None,
) -> StreamingResponse:
    """``event: job|task``, ``data: {"id", "kind", "job_id", "task", "status", "node", "owner"}``.

    The stream starts with a ``: subscribed`` comment; every event after it is delivered. Users get
    their own jobs' events, admins everyone's.
    """
    return StreamingResponse(
        sse(hub.subscribe(user, job_id)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )
