"""Plans of the job planner: a catalog workflow submitted on a schedule, as you (docs/job-planner.md).

A schedule is ``cron`` (five fields) or ``dates`` (local date-times such as ``2026-12-24T18:00``), read
in ``timezone``, with optional ``exclusions`` (days ``2026-12-25`` or intervals ``START/END``), ``start``
and ``end``::

    plan = client.create_plan("my-bucket", "Report", cron="0 9 * * 1-5", variables={"N": 3})
    client.plan_next_times(plan["id"])   # epoch seconds
    client.list_plan_runs(plan["id"])    # each time handled: its job, or why there is none
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypedDict

import httpx

from runyard.client.jobs import Values
from runyard.client.transport import Call, json_body, no_body, operation, segment

Missed = Literal["skip", "run-once", "run-all"]


class PlanSchedule(TypedDict):
    cron: str | None
    """Five fields: minute hour day-of-month month day-of-week."""
    dates: list[str]
    """Local date-times of a calendar (``2026-12-24T18:00``)."""
    exclusions: list[str]
    """Days (``2026-12-25``) or intervals (``START/END``) when nothing runs."""
    timezone: str
    start: str | None
    end: str | None


class PlanWorkflow(TypedDict):
    bucket: str
    name: str
    revision: int | None
    """``None``: the latest revision at each submission."""


class Plan(TypedDict):
    id: int
    owner: str
    name: str
    catalog: PlanWorkflow
    variables: dict[str, str]
    generic_information: dict[str, str]
    schedule: PlanSchedule
    missed: str
    """Times missed while no server ran: ``skip`` none, ``run-once`` the latest, ``run-all`` all (bounded)."""
    paused: bool
    next_at: float | None
    """The next time it submits; ``None``: its schedule has no time left."""
    created_at: float
    updated_at: float


class PlanList(TypedDict):
    plans: list[Plan]


class PlanRun(TypedDict):
    scheduled_at: float
    status: str
    """``claimed`` (being submitted), ``submitted``, ``failed`` or ``skipped`` (missed times not run)."""
    claimed_at: float
    finished_at: float | None
    job_id: int | None
    error: str | None
    """Why there is no job (a refusal, the owner's rights), or what was skipped."""


class PlanRunList(TypedDict):
    runs: list[PlanRun]
    """Newest scheduled time first."""


class PlansApi:
    @operation
    def create_plan(
        self,
        bucket: str,
        name: str,
        *,
        cron: str | None = None,
        dates: Sequence[str] = (),
        exclusions: Sequence[str] = (),
        timezone: str = "UTC",
        start: str | None = None,
        end: str | None = None,
        variables: Values | None = None,
        generic_information: Values | None = None,
        revision: int | None = None,
        plan_name: str | None = None,
        missed: Missed = "skip",
    ) -> Call[Plan]:
        """Plan the catalog workflow ``bucket/name`` on a schedule, as you (``ApiError`` 400 with the
        problems if its schedule, workflow or variables are wrong)."""
        schedule = _schedule(cron, dates, exclusions, timezone, start, end)
        body = _plan(bucket, name, schedule, variables, generic_information, revision, plan_name, missed)
        return Call("POST", "/plans", json_body, json=body)

    @operation
    def list_plans(self, *, owner: str | None = None, limit: int = 200, after_id: int = 0) -> Call[PlanList]:
        """Your plans (an admin: everyone's, or ``owner``'s), by id: at most ``limit`` (1 to 200) after
        ``after_id`` (the next page: the last id of this one)."""
        params: dict[str, Any] = {"limit": limit, "after_id": after_id}
        return Call("GET", "/plans", json_body, params=params | ({} if owner is None else {"owner": owner}))

    @operation
    def get_plan(self, plan_id: int) -> Call[Plan]:
        return Call("GET", f"/plans/{segment(plan_id)}", json_body)

    @operation
    def update_plan(
        self,
        plan_id: int,
        bucket: str,
        name: str,
        *,
        cron: str | None = None,
        dates: Sequence[str] = (),
        exclusions: Sequence[str] = (),
        timezone: str = "UTC",
        start: str | None = None,
        end: str | None = None,
        variables: Values | None = None,
        generic_information: Values | None = None,
        revision: int | None = None,
        plan_name: str | None = None,
        missed: Missed = "skip",
    ) -> Call[Plan]:
        """Replace what the plan submits and when; its next time is its schedule's first after now."""
        schedule = _schedule(cron, dates, exclusions, timezone, start, end)
        body = _plan(bucket, name, schedule, variables, generic_information, revision, plan_name, missed)
        return Call("PUT", f"/plans/{segment(plan_id)}", json_body, json=body)

    @operation
    def pause_plan(self, plan_id: int) -> Call[Plan]:
        return Call("POST", f"/plans/{segment(plan_id)}/pause", json_body)

    @operation
    def resume_plan(self, plan_id: int) -> Call[Plan]:
        """Submit again from the next time after now (the times while paused are not run)."""
        return Call("POST", f"/plans/{segment(plan_id)}/resume", json_body)

    @operation
    def delete_plan(self, plan_id: int) -> Call[None]:
        """The plan and its runs (its jobs stay)."""
        return Call("DELETE", f"/plans/{segment(plan_id)}", no_body)

    @operation
    def list_plan_runs(
        self, plan_id: int, *, limit: int = 50, before: float | None = None
    ) -> Call[PlanRunList]:
        """The times the plan handled, newest first; ``before``: the next page."""
        params: dict[str, Any] = {"limit": limit} | ({} if before is None else {"before": before})
        return Call("GET", f"/plans/{segment(plan_id)}/runs", json_body, params=params)

    @operation
    def plan_next_times(self, plan_id: int, count: int = 10) -> Call[list[float]]:
        """The plan's next times, epoch seconds (none while paused)."""
        return Call("GET", f"/plans/{segment(plan_id)}/next-times", _times, params={"count": count})

    @operation
    def preview_schedule(
        self,
        *,
        cron: str | None = None,
        dates: Sequence[str] = (),
        exclusions: Sequence[str] = (),
        timezone: str = "UTC",
        start: str | None = None,
        end: str | None = None,
        count: int = 10,
    ) -> Call[list[float]]:
        """The next times of a schedule, nothing saved (``ApiError`` 400 naming the wrong field)."""
        schedule = _schedule(cron, dates, exclusions, timezone, start, end)
        return Call("POST", "/plans/preview", _times, json={"schedule": schedule, "count": count})


def _schedule(
    cron: str | None,
    dates: Sequence[str],
    exclusions: Sequence[str],
    timezone: str,
    start: str | None,
    end: str | None,
) -> dict[str, Any]:
    return {
        "cron": cron,
        "dates": list(dates),
        "exclusions": list(exclusions),
        "timezone": timezone,
        "start": start,
        "end": end,
    }


def _plan(
    bucket: str,
    name: str,
    schedule: dict[str, Any],
    variables: Values | None,
    generic_information: Values | None,
    revision: int | None,
    plan_name: str | None,
    missed: Missed,
) -> dict[str, Any]:
    return {
        "catalog": {"bucket": bucket, "name": name, "revision": revision},
        "schedule": schedule,
        "name": plan_name,
        "variables": dict(variables or {}),
        "generic_information": dict(generic_information or {}),
        "missed": missed,
    }


def _times(response: httpx.Response) -> list[float]:
    times: list[float] = response.json()["times"]
    return times
