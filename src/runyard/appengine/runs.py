"""Task runs: created for a task, owned by their creator, moved through Cytomine's states.

States (Cytomine's ``TaskRunState``)::

    CREATED ──(every non-optional input provisioned)──▶ PROVISIONED ──(RUNNING asked)──▶ QUEUING
    QUEUING ▶ QUEUED ▶ PENDING ▶ RUNNING ▶ FINISHED | FAILED        (runyard.appengine.execution)

CREATED and PROVISIONED are this module's and :mod:`runyard.appengine.provisioning`'s; from QUEUING on
the run is a runyard job and :mod:`runyard.appengine.execution` moves it. A run is its owner's: to
anyone else (admins aside) it does not exist (404, never 403, so that its existence is not confirmed).
"""

from __future__ import annotations

import secrets
import shutil
import time
import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from runyard.appengine import execution
from runyard.appengine.errors import RUN_NOT_FOUND, RUN_STATE, AppEngineError
from runyard.appengine.storage import Storage
from runyard.auth import User
from runyard.store.schema import app_engine_runs

CREATED = "CREATED"
PROVISIONED = "PROVISIONED"
QUEUING = "QUEUING"
QUEUED = "QUEUED"
PENDING = "PENDING"
RUNNING = "RUNNING"
FINISHED = "FINISHED"
FAILED = "FAILED"
STATES = (CREATED, PROVISIONED, QUEUING, QUEUED, PENDING, RUNNING, FINISHED, FAILED)
#: States in which the run is a runyard job that has not ended (deleting it must kill the job first).
ACTIVE = frozenset({QUEUING, QUEUED, PENDING, RUNNING})
#: States in which inputs may still be provisioned.
PROVISIONABLE = frozenset({CREATED, PROVISIONED})

Run = sa.RowMapping
"""A row of ``app_engine_runs``."""


def create_run(connection: sa.Connection, storage: Storage, task_id: str, user: User) -> Run:
    """A new run of ``task_id`` (a known task) in CREATED, with its inputs and outputs folders.

    Upstream answers 404 ``APPE-internal-task-not-found`` to a run of a task that has no inputs
    (a lookup of its input parameters comes back empty); runyard does not: such a task (a generator,
    say) gets runs like any other, and its first state action (PROVISIONED or RUNNING) finds nothing
    missing.
    """
    run_id = str(uuid.uuid4())
    now = time.time()
    connection.execute(
        app_engine_runs.insert().values(
            id=run_id,
            task_id=task_id,
            owner=user.name,
            state=CREATED,
            provisions={},
            outputs=None,
            mode=None,
            secret=secrets.token_urlsafe(32),
            job_id=None,
            reason=None,
            created_at=now,
            updated_at=now,
        )
    )
    storage.base.mkdir(parents=True, exist_ok=True)
    storage.run_inputs(run_id).mkdir(mode=0o755)
    storage.run_outputs(run_id).mkdir(mode=0o755)
    return get_run(connection, run_id, user)


def get_run(connection: sa.Connection, run_id: str, user: User, *, for_update: bool = False) -> Run:
    """The run ``run_id`` if ``user`` may see it (its owner, or an admin); 404 otherwise, the same
    answer as for a run that does not exist. ``for_update``: the row locked until the transaction
    ends (PostgreSQL; SQLite's single writer needs nothing)."""
    query = sa.select(app_engine_runs).where(app_engine_runs.c.id == _run_id(run_id))
    if for_update:
        query = query.with_for_update()
    row = connection.execute(query).mappings().first()
    if row is None or not (row["owner"] == user.name or user.is_admin):
        raise run_not_found()
    return row


def find_run(connection: sa.Connection, run_id: str) -> Run | None:
    """The run ``run_id`` whoever owns it (for the platform's own use: execution, outputs upload)."""
    query = sa.select(app_engine_runs).where(app_engine_runs.c.id == run_id)
    return connection.execute(query).mappings().first()


def list_runs(connection: sa.Connection, task_id: str, user: User) -> list[Run]:
    """The runs of ``task_id`` that ``user`` may see (an admin: all), oldest first."""
    query = sa.select(app_engine_runs).where(app_engine_runs.c.task_id == task_id)
    if not user.is_admin:
        query = query.where(app_engine_runs.c.owner == user.name)
    return list(connection.execute(query.order_by(app_engine_runs.c.created_at)).mappings())


def set_state(
    connection: sa.Connection,
    run_id: str,
    state: str,
    *,
    expected: Collection[str] | None = None,
    **fields: Any,
) -> bool:
    """Move the run to ``state`` (and set ``fields``, columns of ``app_engine_runs``), provided it is
    in one of ``expected`` (any state when None); whether it moved. A compare-and-set: two requests
    racing for one transition cannot both win it."""
    if state not in STATES:
        raise ValueError(f"unknown run state {state!r}")
    update = app_engine_runs.update().where(app_engine_runs.c.id == run_id)
    if expected is not None:
        update = update.where(app_engine_runs.c.state.in_(list(expected)))
    result = connection.execute(update.values(state=state, updated_at=time.time(), **fields))
    return result.rowcount == 1


def delete_run(connection: sa.Connection, storage: Storage, run: Run) -> None:
    """Remove ``run``: its row and its folders. A run whose job has not ended has its job killed
    (:func:`runyard.appengine.execution.kill`)."""
    if run["state"] in ACTIVE:
        execution.kill(connection, run)
    connection.execute(app_engine_runs.delete().where(app_engine_runs.c.id == run["id"]))
    for folder in (storage.run_inputs(run["id"]), storage.run_outputs(run["id"])):
        shutil.rmtree(folder, ignore_errors=True)


def run_out(run: Run, task: Mapping[str, Any]) -> dict[str, Any]:
    """Cytomine's ``TaskRun``: ``{id, task, state}``; ``task`` is the task's TaskDescription."""
    return {"id": run["id"], "task": dict(task), "state": run["state"]}


def run_detail(run: Run, task: Mapping[str, Any]) -> dict[str, Any]:
    """The run as ``GET task-runs/{run}`` answers it: TaskRun plus ``createdAt`` and ``updatedAt``
    (ISO-8601, UTC)."""
    return run_out(run, task) | {"createdAt": iso(run["created_at"]), "updatedAt": iso(run["updated_at"])}


MAX_REASON = 2000
"""Characters of a reason sent in a header (a header line is bounded by every HTTP server and client)."""
JOB_HEADER, REASON_HEADER = "X-Runyard-Job-Id", "X-Runyard-Reason"
"""Headers of ``GET task-runs/{run}``: the run's runyard job, and why it is in its state (percent-encoded
UTF-8: a reason may quote a task's output)."""


def detail_headers(run: Mapping[Any, Any]) -> dict[str, str]:
    headers = {}
    if run["job_id"] is not None:
        headers[JOB_HEADER] = str(run["job_id"])
    if run["reason"]:
        headers[REASON_HEADER] = quote(str(run["reason"])[:MAX_REASON], safe=" ,.:;()/'-_=")
    return headers


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def run_not_found() -> AppEngineError:
    return AppEngineError(404, RUN_NOT_FOUND, "task run not found")


def state_error(message: str = "invalid task run state") -> AppEngineError:
    """403 ``APPE-internal-task-run-state-error``: the run's state forbids what was asked."""
    return AppEngineError(403, RUN_STATE, message)


def _run_id(value: str) -> str:
    """``value`` as a stored run id; a run that cannot exist (not a UUID) is simply not found."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise run_not_found() from None
