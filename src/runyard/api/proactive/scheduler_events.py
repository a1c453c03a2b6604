"""ProActive's event WebSocket, ``/rest/scheduler/events``: where ProActive's Java client (and so the
``proactive`` Python package) subscribes when it connects.

The session is checked (header ``sessionid``); the client sends an ``EventSubscription``
(``{"myEventsOnly": true, "events": ["JOB_SUBMITTED", ...]}``, no events: all) and gets
``EventNotification``s (``{"action", "schedulerEvent", "data"}``) of the jobs it may see, from runyard's
event hub (:mod:`runyard.api.events`): ``JOB_STATE_UPDATED`` (data ``JobInfoData``) and
``TASK_STATE_UPDATED`` (``TaskInfoData``), each named by ProActive's ``SchedulerEvent`` for the change
(``JOB_PENDING_TO_RUNNING``, ``TASK_RUNNING_TO_FINISHED``...). Not sent: ``JOB_SUBMITTED`` (runyard
announces a job from its first change of status, its start) and scheduler-wide events (frozen,
stopped, users), states runyard does not have.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from runyard.api.errors import ApiError
from runyard.api.events import EventHub
from runyard.api.events import Subscription as Stream
from runyard.api.proactive import shapes
from runyard.api.security import token_of, user_of
from runyard.auth import User
from runyard.formats.mapping import from_mapping
from runyard.model import JobStatus, TaskStatus
from runyard.store.jobs import load_executions, load_job
from runyard.store.signals import list_signals

router = APIRouter(prefix="/rest/scheduler")

#: Bytes of a subscription message read at most.
MAX_SUBSCRIPTION = 64 * 1024
KEEPALIVE_SECONDS = 15.0

_ENDED = {JobStatus.FINISHED, JobStatus.CANCELED, JobStatus.FAILED, JobStatus.KILLED}
_TASK_EVENTS: dict[TaskStatus, str] = {
    TaskStatus.RUNNING: "TASK_PENDING_TO_RUNNING",
    TaskStatus.IN_ERROR: "TASK_IN_ERROR",
    TaskStatus.WAITING_ON_ERROR: "TASK_WAITING_FOR_RESTART",
    TaskStatus.WAITING_ON_FAILURE: "TASK_WAITING_FOR_RESTART",
    TaskStatus.SKIPPED: "TASK_SKIPPED",
    **{s: "TASK_RUNNING_TO_FINISHED" for s in TaskStatus if s.is_terminal and s is not TaskStatus.SKIPPED},
}


@dataclass
class Subscription:
    """What a client asked for, and what it was told of each job (ProActive names changes from→to)."""

    user: User
    mine_only: bool = True
    events: frozenset[str] = frozenset()
    """Empty: every event."""
    told: dict[int, JobStatus] = field(default_factory=dict)

    def update(self, message: str) -> bool:
        """Take an ``EventSubscription``; whether it was one."""
        try:
            value = json.loads(message)
        except json.JSONDecodeError:
            return False
        events = value.get("events") if isinstance(value, dict) else None
        if not isinstance(value, dict) or not isinstance(events or [], list):
            return False
        self.mine_only = value.get("myEventsOnly", True) is not False
        self.events = frozenset(str(e) for e in events or [])
        return True

    def wants(self, event: str, owner: str) -> bool:
        return (not self.mine_only or owner == self.user.name) and (not self.events or event in self.events)

    def job_event(self, job_id: int, status: JobStatus) -> str | None:
        """ProActive's name for a job reaching ``status`` (None: a change ProActive does not announce)."""
        before = self.told.get(job_id)
        self.told[job_id] = status
        if status is JobStatus.PENDING:
            return "JOB_RESUMED" if before is JobStatus.PAUSED else None
        if status is JobStatus.RUNNING:
            if before is JobStatus.PAUSED:
                return "JOB_RESUMED"
            return "JOB_RESTARTED_FROM_ERROR" if before is JobStatus.IN_ERROR else "JOB_PENDING_TO_RUNNING"
        if status in _ENDED:
            return "JOB_PENDING_TO_FINISHED" if before is JobStatus.PENDING else "JOB_RUNNING_TO_FINISHED"
        return {JobStatus.PAUSED: "JOB_PAUSED", JobStatus.IN_ERROR: "JOB_IN_ERROR"}.get(status)


def notification(
    engine: sa.Engine, event: dict[str, Any], subscription: Subscription
) -> dict[str, Any] | None:
    """The ``EventNotification`` of a hub event of kind ``job`` or ``task``, if the client wants it."""
    job_id = int(event["job_id"])
    if event["task"] is None:
        scheduler_event = subscription.job_event(job_id, JobStatus(event["status"]))
    else:
        scheduler_event = _TASK_EVENTS.get(TaskStatus(event["status"]))
    if scheduler_event is None or not subscription.wants(scheduler_event, event["owner"]):
        return None
    with engine.connect() as connection:
        job = load_job(connection, job_id, from_mapping)
        if job is None:
            return None  # removed meanwhile
        signals = list_signals(connection, job_id)
        last = {record.task_number: record for record in load_executions(connection, job_id)}
    if event["task"] is None:
        action, data = "JOB_STATE_UPDATED", shapes.job_info(job, signals)
    else:
        task = job.tasks.get(event["task"])
        if task is None:
            return None
        action, data = "TASK_STATE_UPDATED", shapes.task_state(job, task, last.get(task.number))["taskInfo"]
    return {"action": action, "schedulerEvent": scheduler_event, "data": data}


@router.websocket("/events")
async def events(websocket: WebSocket) -> None:
    engine: sa.Engine = websocket.app.state.platform.engine
    try:
        user = await user_of(websocket, engine, token_of(websocket))
    except ApiError as error:
        await websocket.close(code=1008, reason=error.message[:120])  # policy violation: not connected
        return
    await websocket.accept()
    subscription = Subscription(user)
    hub: EventHub = websocket.app.state.events
    with hub.subscribe(user) as stream:
        reading = asyncio.create_task(_read(websocket, subscription))
        sending = asyncio.create_task(_send(websocket, engine, stream, subscription))
        done, pending = await asyncio.wait({reading, sending}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            failure = task.exception()
            if failure is not None and not isinstance(failure, WebSocketDisconnect):
                raise failure


async def _read(websocket: WebSocket, subscription: Subscription) -> None:
    """Subscriptions until the client leaves; anything else closes the socket (1003)."""
    while True:
        message = await websocket.receive_text()
        if len(message) > MAX_SUBSCRIPTION or not subscription.update(message):
            await websocket.close(code=1003, reason="expected an EventSubscription JSON object")
            return


async def _send(websocket: WebSocket, engine: sa.Engine, stream: Stream, subscription: Subscription) -> None:
    while True:
        try:
            event = await stream.next(KEEPALIVE_SECONDS)
        except TimeoutError:
            continue
        if event is None:
            await websocket.close(code=1001, reason="the server is stopping")
            return
        if event["kind"] not in ("job", "task"):
            continue
        sent = await run_in_threadpool(notification, engine, event, subscription)
        if sent is not None:
            await websocket.send_text(json.dumps(sent))
