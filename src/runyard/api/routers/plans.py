"""Plans of the job planner: a catalog workflow submitted on a schedule, as its owner (docs/job-planner.md).

Make, list, read, change, pause, resume and delete plans, read their runs and next times, preview a
schedule. A user sees and changes their own plans, an admin everyone's; another user's plan answers
404, as one that does not exist. A plan's workflow and variables are checked as a submission would
be when it is made or changed (400 with the problems), and again at each submission.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from runyard.api.errors import ApiError
from runyard.api.routers.jobs import MAX_ID, CatalogRef
from runyard.api.security import CurrentUser
from runyard.planner import MAX_DATES, MAX_EXCLUSIONS, Missed, Plan, PlanDraft, Planner, Run, ScheduleSpec
from runyard.planner.planner import MAX_PREVIEW
from runyard.planner.plans import MAX_PLANS_PER_OWNER
from runyard.planner.runs import RunStatus
from runyard.planner.schedule import MAX_TEXT

router = APIRouter(prefix="/plans", tags=["plans"])

PlanId = Annotated[int, Path(ge=1, le=MAX_ID)]
Count = Annotated[int, Query(ge=1, le=MAX_PREVIEW, description="How many times")]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
MAX_ENTRIES = 1000
"""Variables, and generic information, of a plan."""
MAX_VALUE = 65_536
"""Characters of a variable's or generic information's value."""
Key = Annotated[str, Field(min_length=1, max_length=255)]
Value = Annotated[str, Field(max_length=MAX_VALUE)] | StrictInt | StrictFloat | StrictBool


class ScheduleIn(BaseModel):
    """Exactly one of ``cron`` and ``dates``; local date-times are read in ``timezone``."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    cron: Text | None = Field(default=None, description="Five fields: minute hour day month weekday")
    dates: list[Text] = Field(default=[], max_length=MAX_DATES, description="Date-times: 2026-12-24T18:00")
    exclusions: list[Text] = Field(
        default=[], max_length=MAX_EXCLUSIONS, description="Days (2026-12-25) or intervals START/END"
    )
    timezone: Text = Field(default="UTC", description="IANA name: Europe/Paris")
    start: Text | None = Field(default=None, description="No time before this date-time")
    end: Text | None = Field(default=None, description="No time after this date-time")

    def spec(self) -> ScheduleSpec:
        return ScheduleSpec(
            self.cron, tuple(self.dates), tuple(self.exclusions), self.timezone, self.start, self.end
        )


class PlanIn(BaseModel):
    catalog: CatalogRef
    """The workflow; without ``revision``, its latest revision at each submission."""
    schedule: ScheduleIn
    name: str | None = Field(default=None, min_length=1, max_length=255, description="Default: bucket/name")
    variables: dict[Key, Value] = Field(default={}, max_length=MAX_ENTRIES)
    generic_information: dict[Key, Value] = Field(default={}, max_length=MAX_ENTRIES)
    missed: Missed = Field(
        default="skip", description="Times missed while no server ran: skip, run-once, run-all"
    )

    def draft(self) -> PlanDraft:
        return PlanDraft(
            bucket=self.catalog.bucket,
            workflow=self.catalog.name,
            revision=self.catalog.revision,
            schedule=self.schedule.spec(),
            name=self.name,
            variables={k: _string(v) for k, v in self.variables.items()},
            generic_information={k: _string(v) for k, v in self.generic_information.items()},
            missed=self.missed,
        )


class PlanWorkflow(CatalogRef):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class PlanOut(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: int
    owner: str
    name: str
    catalog: PlanWorkflow
    """Without ``revision``: the latest revision at each submission."""
    variables: dict[str, str]
    generic_information: dict[str, str]
    schedule: ScheduleIn
    missed: Missed
    paused: bool
    next_at: float | None
    """The next time it submits (kept while paused; resuming starts after now); ``None``: no time left."""
    created_at: float
    updated_at: float

    @classmethod
    def of(cls, plan: Plan) -> PlanOut:
        spec = plan.schedule
        return cls(
            id=plan.id,
            owner=plan.owner,
            name=plan.name,
            catalog=PlanWorkflow(bucket=plan.bucket, name=plan.workflow, revision=plan.revision),
            variables=plan.variables,
            generic_information=plan.generic_information,
            schedule=ScheduleIn(
                cron=spec.cron,
                dates=list(spec.dates),
                exclusions=list(spec.exclusions),
                timezone=spec.timezone,
                start=spec.start,
                end=spec.end,
            ),
            missed=plan.missed,
            paused=plan.paused,
            next_at=plan.next_at,
            created_at=plan.created_at,
            updated_at=plan.updated_at,
        )


class PlanList(BaseModel):
    plans: list[PlanOut]


class RunOut(BaseModel):
    scheduled_at: float
    status: RunStatus
    """``claimed`` (being submitted), ``submitted``, ``failed`` or ``skipped`` (missed times not run)."""
    claimed_at: float
    finished_at: float | None
    job_id: int | None
    error: str | None


class RunList(BaseModel):
    runs: list[RunOut]
    """Newest scheduled time first."""


class NextTimes(BaseModel):
    times: list[float]


class Preview(BaseModel):
    schedule: ScheduleIn
    count: int = Field(default=10, ge=1, le=MAX_PREVIEW)


def _planner(request: Request) -> Planner:
    planner: Planner = request.app.state.planner
    return planner


@router.post("", response_model=PlanOut, status_code=201)
async def create_plan(body: PlanIn, user: CurrentUser, request: Request) -> PlanOut:
    """Make a plan you own; its workflow must be one you may read, its variables valid (400 otherwise)."""
    plan = await run_in_threadpool(_planner(request).create, user, body.draft())
    return PlanOut.of(plan)


@router.get("", response_model=PlanList)
async def list_plans(
    user: CurrentUser,
    request: Request,
    owner: Annotated[str | None, Query(max_length=255, description="Only an admin may name another")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PLANS_PER_OWNER)] = MAX_PLANS_PER_OWNER,
    after_id: Annotated[
        int, Query(ge=0, le=MAX_ID, description="Only plans of greater ids (the next page)")
    ] = 0,
) -> PlanList:
    """Your plans; an admin's: everyone's (or ``owner``'s); by id, at most ``limit``."""
    if owner is not None and owner != user.name and not user.is_admin:
        raise ApiError(403, "forbidden", "only an admin may list other users' plans")
    listed = _planner(request).plans
    found = await run_in_threadpool(listed, user, owner, limit=limit, after_id=after_id)
    return PlanList(plans=[PlanOut.of(plan) for plan in found])


@router.post("/preview", response_model=NextTimes)
async def preview(body: Preview, _user: CurrentUser, request: Request) -> NextTimes:
    """The next times of a schedule, nothing saved (400 naming the field if it is wrong)."""
    times = await run_in_threadpool(_planner(request).preview, body.schedule.spec(), body.count)
    return NextTimes(times=times)


@router.get("/{plan_id}", response_model=PlanOut)
async def get_plan(plan_id: PlanId, user: CurrentUser, request: Request) -> PlanOut:
    return PlanOut.of(await run_in_threadpool(_planner(request).get, user, plan_id))


@router.put("/{plan_id}", response_model=PlanOut)
async def update_plan(plan_id: PlanId, body: PlanIn, user: CurrentUser, request: Request) -> PlanOut:
    """Replace the plan (checked as its owner); its next time is the schedule's first after now."""
    return PlanOut.of(await run_in_threadpool(_planner(request).update, user, plan_id, body.draft()))


@router.post("/{plan_id}/pause", response_model=PlanOut)
async def pause_plan(plan_id: PlanId, user: CurrentUser, request: Request) -> PlanOut:
    """Submit nothing until resumed."""
    return PlanOut.of(await run_in_threadpool(_planner(request).pause, user, plan_id))


@router.post("/{plan_id}/resume", response_model=PlanOut)
async def resume_plan(plan_id: PlanId, user: CurrentUser, request: Request) -> PlanOut:
    """Submit again from the schedule's first time after now (the times while paused are not run)."""
    return PlanOut.of(await run_in_threadpool(_planner(request).resume, user, plan_id))


@router.delete("/{plan_id}", status_code=204)
async def delete_plan(plan_id: PlanId, user: CurrentUser, request: Request) -> Response:
    """The plan and its runs; the jobs it submitted stay."""
    await run_in_threadpool(_planner(request).delete, user, plan_id)
    return Response(status_code=204)


@router.get("/{plan_id}/runs", response_model=RunList)
async def list_runs(
    plan_id: PlanId,
    user: CurrentUser,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before: Annotated[float | None, Query(description="Only runs scheduled before (the next page)")] = None,
) -> RunList:
    found = await run_in_threadpool(_planner(request).runs, user, plan_id, limit=limit, before=before)
    return RunList(runs=[_run(run) for run in found])


@router.get("/{plan_id}/next-times", response_model=NextTimes)
async def next_times(plan_id: PlanId, user: CurrentUser, request: Request, count: Count = 10) -> NextTimes:
    """The plan's next times (none while it is paused)."""
    return NextTimes(times=await run_in_threadpool(_planner(request).next_times, user, plan_id, count))


def _run(run: Run) -> RunOut:
    return RunOut(
        scheduled_at=run.scheduled_at,
        status=run.status,
        claimed_at=run.claimed_at,
        finished_at=run.finished_at,
        job_id=run.job_id,
        error=run.error,
    )


def _string(value: Value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
