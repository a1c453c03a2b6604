"""Two ``runyard server`` processes on one PostgreSQL database: each planned time is submitted once.

Both servers are up before the plan is made; it is made through the first server (its planner wakes) and
given again, unchanged, through the second (its planner wakes too), so that both planners know its times
and wake for them at the same moment: they race for each time, and only the claim in the store decides.
"""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from planner.helpers import WORKFLOW
from runyard.client import Client
from runyard.store.schema import jobs
from support.databases import fresh_postgres_database
from support.server import ADMIN, PASSWORD, create_admin
from support.server_process import free_port, server_process

#: From the plan's making to its first time: two calls to the servers (each planner wakes on its own).
MARGIN = 4


def test_two_servers_on_one_database_submit_each_time_once(postgres_server_url: str, tmp_path: Path) -> None:
    with fresh_postgres_database(postgres_server_url) as database_url:
        create_admin(tmp_path / "a", database_url)
        store = ("--database-url", database_url)
        first_port, second_port = free_port(), free_port()
        with (
            server_process(tmp_path / "a", first_port, *store),
            server_process(tmp_path / "b", second_port, *store),
            Client(f"http://127.0.0.1:{first_port}") as a,
            Client(f"http://127.0.0.1:{second_port}") as b,
        ):
            a.login(ADMIN, PASSWORD)
            b.login(ADMIN, PASSWORD)
            a.create_bucket("shared-plans")
            a.push_object("shared-plans", "Planned", WORKFLOW, kind="Workflow/standard")
            start = time.time() + MARGIN
            dates = [time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + i)) for i in range(3)]
            plan = a.create_plan("shared-plans", "Planned", dates=dates)
            # b's planner learns of a plan it did not make at its next turn (up to 30 s): the same plan
            # given through b wakes it now, with the same first time
            again = b.update_plan(plan["id"], "shared-plans", "Planned", dates=dates)
            assert again["next_at"] == plan["next_at"] == float(int(start))
            assert time.time() < int(start), "the plan was given to both planners after its first time"
            deadline = time.monotonic() + 60
            while (
                len(done := [r for r in a.list_plan_runs(plan["id"])["runs"] if r["status"] != "claimed"]) < 3
            ):
                assert time.monotonic() < deadline, a.list_plan_runs(plan["id"])
                time.sleep(0.5)
            time.sleep(2)  # a second submission, if there were one, would be stored by now
        assert sorted(r["scheduled_at"] for r in done) == [float(int(start) + i) for i in range(3)]
        assert {r["status"] for r in done} == {"submitted"}
        engine = sa.create_engine(database_url)
        with engine.connect() as connection:
            stored = connection.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one()
        engine.dispose()
        assert stored == 3
