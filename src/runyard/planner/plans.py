"""Plans as stored: a catalog workflow, its variables and generic information, a schedule, the policy
for missed times, whether it is paused and the next time it will handle.

Only its owner and admins see or change a plan: anyone else gets ``NotFoundError``, as for a plan
that does not exist (the id leaks nothing).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, get_args

import sqlalchemy as sa

from runyard.auth import User
from runyard.errors import NotFoundError
from runyard.planner.schedule import Schedule, ScheduleSpec, read_schedule
from runyard.store.schema import plans

Missed = Literal["skip", "run-once", "run-all"]
MISSED_POLICIES: tuple[Missed, ...] = get_args(Missed)
MAX_PLANS_PER_OWNER = 200
"""Plans one user may have (each may hold a calendar of 10,000 dates)."""


@dataclass(frozen=True)
class PlanDraft:
    """What a user gives to make or change a plan."""

    bucket: str
    workflow: str
    schedule: ScheduleSpec
    revision: int | None = None
    name: str | None = None
    """Shown in listings; by default ``bucket/workflow``."""
    variables: dict[str, str] = dataclasses.field(default_factory=dict)
    generic_information: dict[str, str] = dataclasses.field(default_factory=dict)
    missed: Missed = "skip"


@dataclass(frozen=True)
class Plan:
    id: int
    owner: str
    name: str
    bucket: str
    workflow: str
    revision: int | None
    variables: dict[str, str]
    generic_information: dict[str, str]
    schedule: ScheduleSpec
    missed: Missed
    paused: bool
    next_at: float | None
    """The next time the plan handles; ``None``: its schedule has no time left."""
    created_at: float
    updated_at: float

    def read_schedule(self) -> Schedule:
        return read_schedule(self.schedule)


def insert_plan(
    connection: sa.Connection, owner: str, draft: PlanDraft, *, next_at: float | None, now: float
) -> Plan:
    values = _values(draft) | {"owner": owner, "paused": False, "next_at": next_at}
    values |= {"created_at": now, "updated_at": now}
    plan_id = connection.execute(sa.insert(plans).values(values)).inserted_primary_key
    assert plan_id is not None
    return _load(connection, int(plan_id[0]))


def count_plans(connection: sa.Connection, owner: str) -> int:
    query = sa.select(sa.func.count()).select_from(plans).where(plans.c.owner == owner)
    return int(connection.execute(query).scalar_one())


def get_plan(connection: sa.Connection, user: User, plan_id: int) -> Plan:
    """The plan, if ``user`` owns it or is an admin."""
    plan = find_plan(connection, plan_id)
    if plan is None or not (user.is_admin or plan.owner == user.name):
        raise NotFoundError(f"no plan {plan_id}")
    return plan


def list_plans(
    connection: sa.Connection, user: User, owner: str | None = None, *, limit: int, after_id: int = 0
) -> list[Plan]:
    """``user``'s plans; an admin's: everyone's (or ``owner``'s); by id, from after ``after_id``."""
    query = sa.select(plans).where(plans.c.id > after_id).order_by(plans.c.id).limit(limit)
    if not user.is_admin:
        owner = user.name
    if owner is not None:
        query = query.where(plans.c.owner == owner)
    return [_plan(row) for row in connection.execute(query)]


def replace_plan(
    connection: sa.Connection,
    user: User,
    plan_id: int,
    draft: PlanDraft,
    *,
    next_at: float | None,
    now: float,
) -> Plan:
    get_plan(connection, user, plan_id)
    values = _values(draft) | {"next_at": next_at, "updated_at": now}
    connection.execute(sa.update(plans).where(plans.c.id == plan_id).values(values))
    return _load(connection, plan_id)


def set_paused(
    connection: sa.Connection, user: User, plan_id: int, *, paused: bool, next_at: float | None, now: float
) -> Plan:
    get_plan(connection, user, plan_id)
    change = {"paused": paused, "next_at": next_at, "updated_at": now}
    connection.execute(sa.update(plans).where(plans.c.id == plan_id).values(change))
    return _load(connection, plan_id)


def delete_plan(connection: sa.Connection, user: User, plan_id: int) -> None:
    get_plan(connection, user, plan_id)
    connection.execute(sa.delete(plans).where(plans.c.id == plan_id))


def due_plans(connection: sa.Connection, now: float, limit: int) -> list[Plan]:
    """Plans not paused whose next time has come, earliest first."""
    query = (
        sa.select(plans)
        .where(plans.c.next_at <= now, sa.not_(plans.c.paused))
        .order_by(plans.c.next_at)
        .limit(limit)
    )
    return [_plan(row) for row in connection.execute(query)]


def earliest_next(connection: sa.Connection) -> float | None:
    """The earliest next time of the plans not paused."""
    query = sa.select(sa.func.min(plans.c.next_at)).where(sa.not_(plans.c.paused))
    found = connection.execute(query).scalar_one_or_none()
    return None if found is None else float(found)


def advance(connection: sa.Connection, plan: Plan, next_at: float | None) -> bool:
    """Move the plan's next time on from the one ``plan`` was read with: ``False`` if it moved since
    (another planner handled it, or its owner changed it): whoever moves it handles those times."""
    moved = connection.execute(
        sa.update(plans)
        .where(plans.c.id == plan.id, plans.c.next_at == plan.next_at, sa.not_(plans.c.paused))
        .values(next_at=next_at)
    )
    return bool(moved.rowcount == 1)


def find_plan(connection: sa.Connection, plan_id: int) -> Plan | None:
    row = connection.execute(sa.select(plans).where(plans.c.id == plan_id)).first()
    return None if row is None else _plan(row)


def _load(connection: sa.Connection, plan_id: int) -> Plan:
    plan = find_plan(connection, plan_id)
    assert plan is not None
    return plan


def _values(draft: PlanDraft) -> dict[str, Any]:
    return {
        "name": draft.name or f"{draft.bucket}/{draft.workflow}",
        "bucket": draft.bucket,
        "workflow": draft.workflow,
        "revision": draft.revision,
        "variables": draft.variables,
        "generic_information": draft.generic_information,
        "schedule": dataclasses.asdict(draft.schedule),
        "missed": draft.missed,
    }


def _plan(row: sa.Row[Any]) -> Plan:
    spec = dict(row.schedule)
    spec["dates"], spec["exclusions"] = tuple(spec["dates"]), tuple(spec["exclusions"])
    return Plan(
        id=row.id,
        owner=row.owner,
        name=row.name,
        bucket=row.bucket,
        workflow=row.workflow,
        revision=row.revision,
        variables=dict(row.variables),
        generic_information=dict(row.generic_information),
        schedule=ScheduleSpec(**spec),
        missed=row.missed,
        paused=bool(row.paused),
        next_at=row.next_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
