"""The runs of a plan: each scheduled time it handled, and what came of it.

A time is *claimed* before anything is submitted for it, in the transaction that moves the plan's next
time on: the primary key (plan, time) makes a second claim of the same time fail, so two planners on
one database never both submit it. A claimed run then ends ``submitted`` (its job) or ``failed`` (why);
times missed while no planner ran and not run by the plan's policy are one ``skipped`` run saying how
many. The newest :data:`MAX_RUNS_KEPT` runs of a plan are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from runyard.store.schema import plan_runs

RunStatus = Literal["claimed", "submitted", "failed", "skipped"]
MAX_RUNS_KEPT = 1000
"""Runs kept per plan (the oldest go first)."""
MAX_ERROR = 4000
"""Characters of a recorded error."""


@dataclass(frozen=True)
class Run:
    plan_id: int
    scheduled_at: float
    status: RunStatus
    claimed_at: float
    finished_at: float | None
    job_id: int | None
    error: str | None


def claim(connection: sa.Connection, plan_id: int, times: list[float], *, now: float) -> None:
    """Claim ``times`` (``IntegrityError`` if one was claimed already: roll the transaction back)."""
    if times:
        rows = [
            {"plan_id": plan_id, "scheduled_at": t, "status": "claimed", "claimed_at": now} for t in times
        ]
        connection.execute(sa.insert(plan_runs), rows)


def record_skipped(
    connection: sa.Connection, plan_id: int, times: list[float], why: str, *, now: float
) -> None:
    """One run for the missed ``times`` left out, at the first of them."""
    if times:
        connection.execute(
            sa.insert(plan_runs).values(
                plan_id=plan_id,
                scheduled_at=times[0],
                status="skipped",
                claimed_at=now,
                finished_at=now,
                error=why[:MAX_ERROR],
            )
        )


def finish(
    connection: sa.Connection,
    plan_id: int,
    scheduled_at: float,
    *,
    now: float,
    job_id: int | None = None,
    error: str | None = None,
) -> None:
    """Record the outcome of a claimed run: its job, or the error that kept it from being submitted."""
    status: RunStatus = "submitted" if job_id is not None else "failed"
    connection.execute(
        sa.update(plan_runs)
        .where(plan_runs.c.plan_id == plan_id, plan_runs.c.scheduled_at == scheduled_at)
        .values(
            status=status, finished_at=now, job_id=job_id, error=None if error is None else error[:MAX_ERROR]
        )
    )
    _sweep(connection, plan_id)


def list_runs(
    connection: sa.Connection, plan_id: int, *, limit: int, before: float | None = None
) -> list[Run]:
    """The plan's runs, newest scheduled time first (``before``: only older ones, the next page)."""
    c = plan_runs.c
    query = sa.select(plan_runs).where(c.plan_id == plan_id).order_by(c.scheduled_at.desc()).limit(limit)
    if before is not None:
        query = query.where(c.scheduled_at < before)
    return [_run(row) for row in connection.execute(query)]


def stale_claims(connection: sa.Connection, *, claimed_before: float) -> list[Run]:
    """Runs claimed before ``claimed_before`` and never finished: their planner stopped in between."""
    c = plan_runs.c
    query = sa.select(plan_runs).where(c.status == "claimed", c.claimed_at < claimed_before).limit(100)
    return [_run(row) for row in connection.execute(query)]


def reclaim(connection: sa.Connection, run: Run, *, now: float) -> bool:
    """Take over a stale claim; ``False`` if another planner did first."""
    c = plan_runs.c
    taken = connection.execute(
        sa.update(plan_runs)
        .where(
            c.plan_id == run.plan_id,
            c.scheduled_at == run.scheduled_at,
            c.status == "claimed",
            c.claimed_at == run.claimed_at,
        )
        .values(claimed_at=now)
    )
    return bool(taken.rowcount == 1)


def _sweep(connection: sa.Connection, plan_id: int) -> None:
    c = plan_runs.c
    oldest_kept = (
        sa.select(c.scheduled_at)
        .where(c.plan_id == plan_id)
        .order_by(c.scheduled_at.desc())
        .offset(MAX_RUNS_KEPT - 1)
        .limit(1)
        .scalar_subquery()
    )
    connection.execute(sa.delete(plan_runs).where(c.plan_id == plan_id, c.scheduled_at < oldest_kept))


def _run(row: sa.Row[Any]) -> Run:
    return Run(
        row.plan_id, row.scheduled_at, row.status, row.claimed_at, row.finished_at, row.job_id, row.error
    )
