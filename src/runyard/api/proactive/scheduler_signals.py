"""ProActive's job signals, ``POST /rest/scheduler/job/{id}/signals?signal=NAME``: send a signal (with
values for its variables as a JSON object, or none), answered with the job's set of signals
(``ready_NAME`` while a task waits for ``NAME``, ``NAME`` once received). The native signal routes do
the work (:mod:`runyard.api.routers.signals`): values checked against their models (400), 409 when no
task is ready for the signal.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from runyard.api.deps import EngineDep
from runyard.api.proactive.common import (
    ILLEGAL_ARGUMENT_EXCEPTION,
    ProActiveError,
    ProActiveUser,
    proactive_router,
)
from runyard.api.proactive.scheduler_jobs import reach_job
from runyard.api.routers import signals as native
from runyard.store.signals import MAX_NAME

router = proactive_router(prefix="/rest/scheduler")


def _values(body: bytes, media: str) -> native.Sending:
    """The signal's variable values: a JSON object of strings (no body, or an octet stream: none)."""
    if not body.strip() or media.startswith("application/octet-stream"):
        return native.Sending()
    try:
        return native.Sending(variables=json.loads(body))
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as error:
        message = f"a signal's variables are a JSON object of names to text values: {error}"
        raise ProActiveError(400, message[:1000], ILLEGAL_ARGUMENT_EXCEPTION) from None


@router.post("/job/{job_id}/signals")
async def add_job_signal(
    job_id: str,
    request: Request,
    user: ProActiveUser,
    engine: EngineDep,
    signal: Annotated[str, Query(min_length=1, max_length=MAX_NAME)],
) -> list[str]:
    """Send ``signal``; the job's signals after it."""
    number = await run_in_threadpool(reach_job, engine, user, job_id)
    sending = _values(await request.body(), request.headers.get("content-type", ""))
    await run_in_threadpool(native.send_signal, number, signal, sending, user, engine, request)
    listed = await run_in_threadpool(native.list_signals, number, user, engine)
    return listed.names
