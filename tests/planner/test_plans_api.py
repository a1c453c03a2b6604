"""Plans through the SDK and REST on a live server: their life cycle, a planned job that runs, bad input,
and other users (who neither see nor change nor trigger a plan not theirs)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml

from planner.helpers import WORKFLOW
from runyard.client import ApiError, Client
from support.server import LiveServer, bearer, wait_for

_buckets = itertools.count(1)
DAILY: dict[str, Any] = {"cron": "0 9 * * *", "timezone": "Europe/Paris"}


@pytest.fixture(scope="module")
def alice(server: LiveServer) -> Iterator[Client]:
    _, token = server.new_user(prefix="alice")
    with Client(server.url, token) as client:
        yield client


@pytest.fixture(scope="module")
def bob(server: LiveServer) -> Iterator[Client]:
    _, token = server.new_user(prefix="bob")
    with Client(server.url, token) as client:
        yield client


def workflow_of(client: Client, *, public: bool = False) -> str:
    """A bucket of the client's user holding ``Planned``."""
    bucket = f"plans-{next(_buckets)}"
    client.create_bucket(bucket, public=public)
    client.push_object(bucket, "Planned", WORKFLOW, kind="Workflow/standard")
    return bucket


def refused(status: int, call: object) -> ApiError:
    assert callable(call)
    with pytest.raises(ApiError) as error:
        call()
    assert error.value.status == status, error.value.message
    return error.value


def test_a_plans_life_cycle(alice: Client) -> None:
    bucket = workflow_of(alice)
    plan = alice.create_plan(bucket, "Planned", **DAILY, variables={"COUNT": 5}, plan_name="Morning count")
    assert (plan["name"], plan["catalog"], plan["variables"], plan["missed"]) == (
        "Morning count",
        {"bucket": bucket, "name": "Planned", "revision": None},
        {"COUNT": "5"},
        "skip",
    )
    times = alice.plan_next_times(plan["id"], 3)
    assert times[0] == plan["next_at"] and [b - a for a, b in itertools.pairwise(times)] == [86400.0] * 2
    assert datetime.fromtimestamp(times[0], UTC).hour == 8  # 09:00 in Paris in winter
    assert [p["id"] for p in alice.list_plans()["plans"]] == [plan["id"]]
    paused = alice.pause_plan(plan["id"])
    assert paused["paused"] and alice.plan_next_times(plan["id"]) == []
    assert not alice.resume_plan(plan["id"])["paused"]
    changed = alice.update_plan(plan["id"], bucket, "Planned", cron="0 * * * *", missed="run-once")
    assert (changed["schedule"]["cron"], changed["missed"], changed["variables"]) == (
        "0 * * * *",
        "run-once",
        {},
    )
    assert alice.list_plan_runs(plan["id"]) == {"runs": []}
    alice.delete_plan(plan["id"])
    refused(404, lambda: alice.get_plan(plan["id"]))


def test_a_planned_job_is_submitted_when_its_time_comes(alice: Client, server: LiveServer) -> None:
    bucket = workflow_of(alice)
    soon = datetime.now(UTC) + timedelta(seconds=2)
    plan = alice.create_plan(
        bucket,
        "Planned",
        dates=[soon.isoformat()],
        variables={"COUNT": "11"},
        generic_information={"G": 1},
    )
    deadline = time.monotonic() + 30
    while not (runs := alice.list_plan_runs(plan["id"])["runs"]) or runs[0]["status"] == "claimed":
        assert time.monotonic() < deadline, "the planned time was not handled"
        time.sleep(0.2)
    (run,) = runs
    assert (run["status"], run["error"]) == ("submitted", None)
    assert run["job_id"] is not None
    with server.client(alice.token) as http:
        job = wait_for(http, run["job_id"])
    assert (job["status"], job["variables"]["COUNT"]) == ("FINISHED", "11")
    assert alice.get_plan(plan["id"])["next_at"] is None  # its calendar has no date left


def test_previewing_a_schedule_saves_nothing(alice: Client) -> None:
    before = alice.list_plans()
    times = alice.preview_schedule(dates=["2099-01-02T10:00", "2099-01-01T10:00"])
    assert times == [datetime(2099, 1, d, 10, tzinfo=UTC).timestamp() for d in (1, 2)]
    assert len(alice.preview_schedule(cron="* * * * *", count=100)) == 100
    error = refused(400, lambda: alice.preview_schedule(cron="* * * * *", exclusions=["someday"]))
    assert "schedule.exclusions[0]: 'someday'" in error.message
    refused(400, lambda: alice.preview_schedule(cron="* * * * *", count=101))
    assert alice.list_plans() == before


def test_bad_plans_are_refused_with_what_is_wrong(alice: Client, server: LiveServer) -> None:
    bucket = workflow_of(alice)
    before = alice.list_plans()["plans"]
    error = refused(400, lambda: alice.create_plan(bucket, "Planned", cron="0 25 * * *"))
    assert "schedule.cron: '0 25 * * *' is not a cron expression" in error.message
    error = refused(404, lambda: alice.create_plan(bucket, "Nothing", **DAILY))
    assert "Nothing" in error.message
    error = refused(400, lambda: alice.create_plan(bucket, "Planned", **DAILY, variables={"COUNT": "many"}))
    assert isinstance(error.details, list) and error.details[0]["field"] == "variable 'COUNT'"
    error = refused(400, lambda: alice.create_plan(bucket, "Planned", dates=["2001-01-01T00:00"]))
    assert "no time after now" in error.message
    error = refused(
        400, lambda: alice.create_plan(bucket, "Planned", cron="0 9 * * *", timezone="Nowhere/City")
    )
    assert "unknown time zone" in error.message
    error = refused(400, lambda: alice.create_plan(bucket, "Planned", **DAILY, missed="sometimes"))  # type: ignore[arg-type]
    assert "missed" in error.message
    began = time.monotonic()
    huge = [f"2099-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}" for i in range(100_000)]
    error = refused(400, lambda: alice.create_plan(bucket, "Planned", dates=huge))
    assert "at most 10000 items" in error.message and time.monotonic() - began < 10
    too_many = {f"V{i}": i for i in range(1001)}
    error = refused(400, lambda: alice.create_plan(bucket, "Planned", **DAILY, variables=too_many))
    assert "variables" in error.message and "at most 1000 items" in error.message
    error = refused(
        400, lambda: alice.create_plan(bucket, "Planned", **DAILY, variables={"COUNT": "9" * 70_000})
    )
    assert "at most 65536 characters" in error.message
    assert alice.list_plans()["plans"] == before
    with server.client(alice.token) as http:
        answer = http.post("/plans", content=b"{not json", headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        assert http.get("/plans/0").status_code == 400
        assert http.get("/plans/99999999999").status_code == 400


def test_another_user_neither_sees_nor_changes_nor_triggers_a_plan(
    alice: Client, bob: Client, server: LiveServer
) -> None:
    bucket = workflow_of(alice)
    plan = alice.create_plan(bucket, "Planned", **DAILY)
    number = plan["id"]
    assert all(p["id"] != number for p in bob.list_plans()["plans"])
    refused(403, lambda: bob.list_plans(owner=plan["owner"]))
    for call in (
        lambda: bob.get_plan(number),
        lambda: bob.update_plan(number, bucket, "Planned", cron="* * * * *"),
        lambda: bob.pause_plan(number),
        lambda: bob.resume_plan(number),
        lambda: bob.delete_plan(number),
        lambda: bob.list_plan_runs(number),
        lambda: bob.plan_next_times(number),
    ):
        error = refused(404, call)
        assert error.message == f"no plan {number}"
    assert alice.get_plan(number) == plan  # untouched
    with Client(server.url, server.admin_token) as admin:
        assert admin.get_plan(number)["owner"] == plan["owner"]
        assert any(p["id"] == number for p in admin.list_plans(owner=plan["owner"])["plans"])
        admins = workflow_of(admin)  # private: an admin reads it, the plan's owner does not
        error = refused(404, lambda: admin.update_plan(number, admins, "Planned", **DAILY))
        assert admins in error.message  # checked as the plan's owner, whoever changes it


def test_a_plan_cannot_submit_a_workflow_its_owner_cannot_read(alice: Client, bob: Client) -> None:
    private = workflow_of(bob)
    error = refused(404, lambda: alice.create_plan(private, "Planned", **DAILY))
    assert private in error.message
    mine = alice.create_plan(workflow_of(alice), "Planned", **DAILY)
    refused(404, lambda: alice.update_plan(mine["id"], private, "Planned", **DAILY))
    assert alice.get_plan(mine["id"])["catalog"]["bucket"] != private
    shared = workflow_of(bob, public=True)
    assert alice.create_plan(shared, "Planned", **DAILY)["owner"] != "bob"


def test_a_job_token_cannot_use_plans(alice: Client, server: LiveServer) -> None:
    """A task's token acts for its owner on what tasks need only: plans are not that."""
    script = "import os, httpx\n"
    script += "h = {'Authorization': 'Bearer ' + os.environ['RUNYARD_TOKEN']}\n"
    script += (
        "result = httpx.get(os.environ['RUNYARD_URL'].rstrip('/') + '/api/v1/plans', headers=h).status_code\n"
    )
    workflow = {"name": "Sneaky", "tasks": {"Peek": {"script": {"cpython": script}}}}
    with server.client(alice.token) as http:
        job_id = http.post("/jobs", json={"workflow": yaml.safe_dump(workflow)}).json()["id"]
        job = wait_for(http, job_id)
        assert job["status"] == "FINISHED", job
        assert http.get(f"/jobs/{job_id}/tasks/Peek/result").json()["value"] == 403


def test_plans_routes_need_a_session(server: LiveServer) -> None:
    assert httpx.get(f"{server.api}/plans").status_code == 401
    assert httpx.get(f"{server.api}/plans", headers=bearer("forged")).status_code == 401
