"""Plans are durable: a ``runyard server`` killed before a plan's time, started again after it, submits
that time once (it is late by less than the planner's ``LATE_AFTER``: on time, not missed) and keeps
every plan with its next time."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from planner.helpers import WORKFLOW
from runyard.client import Client
from support.server import PASSWORD, bearer, wait_for
from support.server_process import add_user, free_port, server_process


def test_a_killed_server_started_again_runs_the_time_it_was_down_for(tmp_path: Path) -> None:
    add_user(tmp_path, "dana", PASSWORD)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with server_process(tmp_path, port) as first, Client(url) as dana:
        dana.login("dana", PASSWORD)
        dana.create_bucket("dana-plans")
        dana.push_object("dana-plans", "Planned", WORKFLOW, kind="Workflow/standard")
        soon = time.time() + 3
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(soon))
        planned = dana.create_plan("dana-plans", "Planned", dates=[when], variables={"COUNT": 9})
        daily = dana.create_plan("dana-plans", "Planned", cron="0 3 * * *", timezone="Asia/Tokyo")
        os.killpg(first.pid, signal.SIGKILL)  # a crash: nothing is stopped cleanly
        first.wait(30)
    assert planned["next_at"] is not None
    time.sleep(max(0.0, planned["next_at"] + 1 - time.time()))  # its time passes while no server runs
    with server_process(tmp_path, port), Client(url) as dana:
        dana.login("dana", PASSWORD)
        deadline = time.monotonic() + 30
        while [r["status"] for r in dana.list_plan_runs(planned["id"])["runs"]] != ["submitted"]:
            assert time.monotonic() < deadline, dana.list_plan_runs(planned["id"])
            time.sleep(0.2)
        (run,) = dana.list_plan_runs(planned["id"])["runs"]
        assert run["scheduled_at"] == planned["next_at"]
        assert dana.token is not None and run["job_id"] is not None
        with httpx.Client(base_url=f"{url}/api/v1", headers=bearer(dana.token), timeout=30) as http:
            job = wait_for(http, run["job_id"])
        assert (job["status"], job["variables"]["COUNT"]) == ("FINISHED", "9")
        assert dana.get_plan(daily["id"])["next_at"] == daily["next_at"]
        assert [p["id"] for p in dana.list_plans()["plans"]] == [planned["id"], daily["id"]]
