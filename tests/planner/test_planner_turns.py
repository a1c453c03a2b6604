"""The planner's turns on an injected clock: on-time runs, a restart after an outage under each policy for
missed times, two planners on one database, a claim whose planner stopped, the owner's rights at each
submission."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from planner.helpers import WORKFLOW, Clock, new_user, new_workflow, planner
from runyard.catalog import create_bucket, delete_bucket, put_object
from runyard.credentials import Vault
from runyard.errors import InvalidRequestError
from runyard.planner import PlanDraft, Planner, ScheduleSpec
from runyard.planner import planner as planner_module
from runyard.planner import plans as plan_store
from runyard.planner import runs as run_store
from runyard.platform import Platform
from runyard.store.schema import jobs, metadata, plan_runs, plans

UTC = ZoneInfo("UTC")
T0 = datetime(2030, 1, 7, 10, 0, 30, tzinfo=UTC).timestamp()
MINUTE = 60.0
EVERY_TEN_MINUTES = ScheduleSpec(cron="*/10 * * * *")
ZONE_HINT = "(an IANA name such as Europe/Paris or UTC)"


def draft(bucket: str, schedule: ScheduleSpec = EVERY_TEN_MINUTES, **fields: object) -> PlanDraft:
    return PlanDraft(bucket=bucket, workflow="Planned", schedule=schedule, **fields)  # type: ignore[arg-type]


def job_count(platform: Platform, owner: str) -> int:
    with platform.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).where(jobs.c.owner == owner)).scalar_one())


def test_each_time_runs_once_on_time_as_the_owner(platform: Platform, vault: Vault) -> None:
    alice = new_user(platform)
    clock = Clock(T0)
    first = planner(platform, vault, clock)
    plan = first.create(alice, draft(new_workflow(platform, alice), variables={"COUNT": "7"}))
    assert plan.next_at == T0 + 9.5 * MINUTE  # 10:10:00
    first.tick()
    assert first.runs(alice, plan.id, limit=10) == []
    clock.now = plan.next_at + 2
    first.tick()
    first.tick()  # the same time is not run twice
    (run,) = first.runs(alice, plan.id, limit=10)
    assert (run.scheduled_at, run.status, run.error) == (plan.next_at, "submitted", None)
    assert run.job_id is not None
    report = platform.report(run.job_id)
    assert (report["owner"], report["variables"]["COUNT"]) == (alice.name, "7")
    assert first.get(alice, plan.id).next_at == plan.next_at + 10 * MINUTE


@pytest.mark.parametrize(
    ("policy", "submitted", "skipped"),
    [("skip", 0, "6 times missed"), ("run-once", 1, "5 times missed"), ("run-all", 6, None)],
)
def test_a_restart_after_an_outage_follows_the_plans_policy(
    platform: Platform, vault: Vault, policy: str, submitted: int, skipped: str | None
) -> None:
    alice = new_user(platform)
    clock = Clock(T0)
    before = planner(platform, vault, clock)
    plan = before.create(alice, draft(new_workflow(platform, alice), missed=policy))
    before.tick()
    clock.now = T0 + 64.5 * MINUTE  # 11:05: the server was down from 10:00:30, six times were missed
    after = planner(platform, vault, clock)  # a new server on the same store
    after.tick()
    found = after.runs(alice, plan.id, limit=100)
    jobs_run = [run for run in found if run.status == "submitted"]
    assert len(jobs_run) == submitted == job_count(platform, alice.name)
    if policy == "run-once":
        assert jobs_run[0].scheduled_at == T0 + 59.5 * MINUTE  # the latest missed: 11:00
    notes = [run.error for run in found if run.status == "skipped"]
    assert notes == (
        [] if skipped is None else [f"{skipped} while no planner ran, not run (policy {policy})"]
    )
    assert after.get(alice, plan.id).next_at == T0 + 69.5 * MINUTE  # 11:10, from now on as usual


def test_run_all_catches_up_a_bounded_number(
    platform: Platform, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planner_module, "MAX_CATCH_UP", 3)
    alice = new_user(platform)
    clock = Clock(T0)
    plan = planner(platform, vault, clock).create(
        alice, draft(new_workflow(platform, alice), ScheduleSpec(cron="* * * * *"), missed="run-all")
    )
    clock.now = T0 + 3 * 24 * 60 * MINUTE  # three days down: 4,320 times missed
    later = planner(platform, vault, clock)
    later.tick()
    found = later.runs(alice, plan.id, limit=100)
    assert [run.status for run in found] == ["submitted"] * 4 + ["skipped"]  # 3 missed, 1 on time
    assert found[-1].error == "4316 times missed while no planner ran, not run (policy run-all)"
    assert [run.scheduled_at for run in found[:4]] == [clock.now - 30 - i * MINUTE for i in range(4)]


def test_two_planners_on_one_database_submit_each_time_once(platform: Platform, vault: Vault) -> None:
    alice = new_user(platform)
    clock = Clock(T0)
    plan = planner(platform, vault, clock).create(
        alice, draft(new_workflow(platform, alice), ScheduleSpec(cron="* * * * *"), missed="run-all")
    )
    clock.now = T0 + 5.5 * MINUTE
    planners = [planner(platform, vault, clock) for _ in range(4)]
    start = threading.Barrier(len(planners))

    def turn(one: Planner) -> None:
        start.wait()
        one.tick()

    threads = [threading.Thread(target=turn, args=(one,)) for one in planners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = planners[0].runs(alice, plan.id, limit=100)
    assert sorted(run.scheduled_at for run in found) == [T0 + (i + 0.5) * MINUTE for i in range(6)]
    assert {run.status for run in found} == {"submitted"}
    assert job_count(platform, alice.name) == 6


def test_a_claim_whose_planner_stopped_is_taken_over(platform: Platform, vault: Vault) -> None:
    alice = new_user(platform)
    clock = Clock(T0)
    first = planner(platform, vault, clock)
    plan = first.create(alice, draft(new_workflow(platform, alice), missed="run-once"))
    at = plan.next_at
    assert at is not None
    with platform.engine.begin() as connection:  # what a planner stopping right after its claim leaves
        assert plan_store.advance(connection, plan, at + 10 * MINUTE)
        run_store.claim(connection, plan.id, [at], now=at)
    clock.now = at + planner_module.CLAIM_LEASE + 1
    planner(platform, vault, clock).tick()
    (run,) = first.runs(alice, plan.id, limit=10)
    assert (run.status, job_count(platform, alice.name)) == ("submitted", 1)


def test_a_taken_over_claim_whose_job_was_stored_is_not_submitted_again(
    platform: Platform, vault: Vault
) -> None:
    alice = new_user(platform)
    clock = Clock(T0)
    first = planner(platform, vault, clock)
    plan = first.create(alice, draft(new_workflow(platform, alice)))
    at = plan.next_at
    assert at is not None
    with platform.engine.begin() as connection:
        assert plan_store.advance(connection, plan, at + 10 * MINUTE)
        run_store.claim(connection, plan.id, [at], now=at)
    clock.now = at + 1
    first._submit(plan, at)  # the job is stored, then the planner stops before recording it
    with platform.engine.begin() as connection:
        connection.execute(sa.update(plan_runs).values(status="claimed", job_id=None))
    clock.now = at + planner_module.CLAIM_LEASE + 1
    planner(platform, vault, clock).tick()
    (run,) = first.runs(alice, plan.id, limit=10)
    assert (run.status, job_count(platform, alice.name)) == ("submitted", 1)


def test_an_owner_who_lost_read_rights_gets_a_recorded_failure_not_a_job(
    platform: Platform, vault: Vault
) -> None:
    alice, bob = new_user(platform), new_user(platform)
    shared = new_workflow(platform, bob, public=True)
    clock = Clock(T0)
    one = planner(platform, vault, clock)
    plan = one.create(alice, draft(shared))
    with platform.engine.begin() as connection:  # bob makes the bucket private under the same name
        delete_bucket(connection, bob, shared, force=True)
        create_bucket(connection, bob, shared, public=False)
        put_object(connection, bob, shared, "Planned", WORKFLOW, kind="Workflow/standard")
    assert plan.next_at is not None
    clock.now = plan.next_at + 1
    one.tick()
    (run,) = one.runs(alice, plan.id, limit=10)
    assert (run.status, run.job_id) == ("failed", None)
    assert run.error == f"not submitted: no bucket {shared!r}"
    assert job_count(platform, alice.name) == 0


def test_variables_are_checked_again_at_each_submission(platform: Platform, vault: Vault) -> None:
    alice = new_user(platform)
    bucket = new_workflow(platform, alice)
    clock = Clock(T0)
    one = planner(platform, vault, clock)
    plan = one.create(alice, draft(bucket, variables={"COUNT": "3"}))
    stricter = WORKFLOW.replace(b"PA:Integer", b"PA:Integer[10,20]")
    with platform.engine.begin() as connection:
        put_object(connection, alice, bucket, "Planned", stricter)
    assert plan.next_at is not None
    clock.now = plan.next_at + 1
    one.tick()
    (run,) = one.runs(alice, plan.id, limit=10)
    assert run.status == "failed"
    assert run.error is not None and run.error.startswith("refused: ") and "COUNT" in run.error


def test_the_migration_creates_the_declared_tables(platform: Platform) -> None:
    with platform.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in differences if "plan" in repr(d)] == []


def test_a_stored_schedule_that_cannot_be_read_any_more_is_a_recorded_failure(
    platform: Platform, vault: Vault
) -> None:
    alice = new_user(platform)
    clock = Clock(T0)
    one = planner(platform, vault, clock)
    bucket = new_workflow(platform, alice)
    broken, fine = one.create(alice, draft(bucket)), one.create(alice, draft(bucket))
    with platform.engine.begin() as connection:  # as if its time zone left the tz database
        spec = {**dataclasses.asdict(broken.schedule), "timezone": "Gone/Away"}
        connection.execute(sa.update(plans).where(plans.c.id == broken.id).values(schedule=spec))
    assert broken.next_at is not None
    clock.now = broken.next_at + 1
    one.tick()
    (run,) = one.runs(alice, broken.id, limit=10)
    assert run.status == "failed"
    assert run.error == "not submitted: schedule.timezone: unknown time zone 'Gone/Away' " + ZONE_HINT
    assert one.get(alice, broken.id).next_at is None
    assert [r.status for r in one.runs(alice, fine.id, limit=10)] == ["submitted"]  # the others go on


def test_a_user_has_a_bounded_number_of_plans(
    platform: Platform, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planner_module, "MAX_PLANS_PER_OWNER", 2)
    alice = new_user(platform)
    one = planner(platform, vault, Clock(T0))
    bucket = new_workflow(platform, alice)
    first, second = one.create(alice, draft(bucket)), one.create(alice, draft(bucket))
    with pytest.raises(InvalidRequestError, match="a user has at most 2 plans"):
        one.create(alice, draft(bucket))
    assert [p.id for p in one.plans(alice, limit=10)] == [first.id, second.id]
    assert [p.id for p in one.plans(alice, limit=1, after_id=first.id)] == [second.id]
