"""Signals of a job (:mod:`runyard.store.signals`): list them, declare one ready (a task), send one with
values for its variables (the job's owner, an admin, or the job's own tasks), remove them, and wait for
any of a set to be received.

A job token acts on the signals of its own job only (not even a job it submitted). Each change goes to
the job's event stream as an event of kind ``signal``: ``{"job_id", "signal": {...}}``, or
``{"job_id", "removed": [names]}``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from runyard.api.change_waits import MAX_WAIT_SECONDS, ChangeWaits
from runyard.api.deps import EngineDep
from runyard.api.errors import ApiError
from runyard.api.events import EventHub
from runyard.api.routers.jobs import JobId, check_job_access
from runyard.api.security import CurrentUser
from runyard.auth import User
from runyard.store import signals as store
from runyard.store.jobs import job_owner
from runyard.store.signals import MAX_NAME, MAX_SIGNALS, MAX_VARIABLES, Signal

router = APIRouter(prefix="/jobs", tags=["signals"])

SignalName = Annotated[str, Path(min_length=1, max_length=MAX_NAME)]
Names = Annotated[list[str], Query(alias="name", max_length=MAX_SIGNALS, description="Signal names")]


class SignalDocument(BaseModel):
    name: str
    status: str = Field(description="``ready`` (a task waits for it) or ``received``")
    task: str | None = Field(description="The task that declared it ready (as the task said)")
    variables: list[dict[str, Any]] = Field(
        description="What it takes: name, value (default), model, description, group, advanced, hidden"
    )
    ready_at: float | None
    sent_at: float | None
    sent_by: str | None
    values: dict[str, str] = Field(description="Once received: the value of each variable")


class SignalList(BaseModel):
    signals: list[SignalDocument]
    names: list[str] = Field(description="ProActive's set of job signals: ready_NAME, or NAME once received")


class Readiness(BaseModel):
    variables: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_VARIABLES)
    task: str | None = Field(default=None, max_length=MAX_NAME)


class Sending(BaseModel):
    variables: dict[str, str] = Field(default_factory=dict, max_length=MAX_VARIABLES)


class Removal(BaseModel):
    removed: int


class Received(BaseModel):
    received: list[SignalDocument] = Field(description="The received signals among those waited for")


@router.get("/{job_id}/signals", response_model=SignalList)
def list_signals(job_id: JobId, user: CurrentUser, engine: EngineDep) -> SignalList:
    _check(engine, user, job_id)
    with engine.connect() as connection:
        signals = store.list_signals(connection, job_id)
    return SignalList(signals=[_document(s) for s in signals], names=store.proactive_names(signals))


@router.put("/{job_id}/signals/{name:path}/ready", response_model=SignalDocument)
def ready_for_signal(
    job_id: JobId, name: SignalName, body: Readiness, user: CurrentUser, engine: EngineDep, request: Request
) -> SignalDocument:
    """Declare the job ready for the signal ``name`` (again, if it was received), with the variables it
    takes (each ``{"name", "value", "model", ...}`` as ProActive's ``JobVariable``)."""
    owner = _check(engine, user, job_id)
    with engine.begin() as connection:
        signal = store.ready_for_signal(
            connection, job_id, name, body.variables, task_name=body.task, now=time.time()
        )
    _changed(request, owner, job_id, {"signal": signal.document()})
    return _document(signal)


@router.post("/{job_id}/signals/{name:path}", response_model=SignalDocument)
def send_signal(
    job_id: JobId, name: SignalName, body: Sending, user: CurrentUser, engine: EngineDep, request: Request
) -> SignalDocument:
    """Send ``name`` with values for its variables (checked against their models: 400 with each problem;
    409 if no task is ready for it)."""
    owner = _check(engine, user, job_id)
    with engine.begin() as connection:
        signal = store.send_signal(
            connection, job_id, name, body.variables, sender=user.name, now=time.time()
        )
    _changed(request, owner, job_id, {"signal": signal.document()})
    return _document(signal)


@router.delete("/{job_id}/signals", response_model=Removal)
def remove_signals(
    job_id: JobId, names: Names, user: CurrentUser, engine: EngineDep, request: Request
) -> Removal:
    """Remove signals: ``ready_NAME`` removes ``NAME`` while it is only ready, ``NAME`` in any state."""
    owner = _check(engine, user, job_id)
    with engine.begin() as connection:
        removed = store.remove_signals(connection, job_id, names)
    if removed:
        _changed(request, owner, job_id, {"removed": names})
    return Removal(removed=removed)


@router.get("/{job_id}/signals/received", response_model=Received)
async def wait_for_signals(
    job_id: JobId,
    names: Names,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    timeout: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for one")] = 0,
) -> Received:
    """The received signals among ``name``s; with ``timeout``, waits up to that long for one (an empty
    list then means none came: ask again)."""
    await run_in_threadpool(_check, engine, user, job_id)
    waits = _waits(request)
    deadline = time.monotonic() + timeout
    while True:
        with waits.watch(("signals", job_id)) as changed:
            found = await run_in_threadpool(_received, engine, job_id, names)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0 or not await waits.until(changed, remaining):
                return Received(received=[_document(s) for s in found])


def _received(engine: sa.Engine, job_id: int, names: list[str]) -> list[Signal]:
    with engine.connect() as connection:
        return store.received_among(connection, job_id, names)


def _check(engine: sa.Engine, user: User, job_id: int) -> str:
    """The job's owner, after checking that ``user`` may act on its signals."""
    if user.job is not None and user.job != job_id:
        raise ApiError(403, "forbidden", f"a job token acts only on the signals of its own job ({user.job})")
    check_job_access(engine, user, job_id)
    with engine.connect() as connection:
        owner = job_owner(connection, job_id)
    assert owner is not None  # checked above
    return owner


def _changed(request: Request, owner: str, job_id: int, change: dict[str, Any]) -> None:
    _waits(request).changed(("signals", job_id))
    hub: EventHub = request.app.state.events
    hub.publish_signal(owner, job_id, change)


def _waits(request: Request) -> ChangeWaits:
    waits: ChangeWaits = request.app.state.change_waits
    return waits


def _document(signal: Signal) -> SignalDocument:
    return SignalDocument(**signal.document())
