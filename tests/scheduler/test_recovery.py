"""Recovery off the start path: ``Scheduler.start`` returns at once and the scheduler thread reconciles
first; while a node source's reconciliation blocks (a remote side that does not answer), reads are
answered, and submissions and commands wait: they are handled after the ``Recovered`` turn.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from engine.helpers import python_task
from planner.helpers import Clock, new_user, new_workflow
from runyard.credentials import Vault
from runyard.errors import NodeError, SchedulerError
from runyard.model import JobStatus, Workflow
from runyard.nodes.protocol import RecordedExecution
from runyard.planner import PlanDraft, Planner, ScheduleSpec
from runyard.platform import Platform
from runyard.scheduler import events as ev
from runyard.scheduler import journal
from runyard.scheduler.loop import EVENT_LOG, Scheduler
from runyard.scheduler.submission import prepare_job
from runyard.settings import NodeSourceConfig, Settings
from runyard.store import schema
from runyard.store.database import connect
from scheduler.doubles import ASKED, GATES
from scheduler.test_leases import StandInSource, until
from support.server import LiveServer, bearer, live_server


class BlockingReconcileSource(StandInSource):
    """A test double: the stand-in remote source, whose ``reconcile`` waits until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.asked = threading.Event()

    def reconcile(self, recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        self.asked.set()
        self.gate.wait()
        return super().reconcile(recorded, timeout)


def stored_jobs(engine: sa.Engine) -> list[int]:
    with engine.connect() as connection:
        return sorted(connection.execute(sa.select(schema.jobs.c.id)).scalars())


def test_a_blocked_reconciliation_answers_reads_and_runs_a_submission_after_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = connect(settings.resolved_database_url())
    source = BlockingReconcileSource()
    source.gate.set()
    workflow = Workflow(name="Remote", tasks=[python_task("A", "pass")])
    first = Scheduler(engine, source, settings)
    first.start()
    job = first.submit_later(prepare_job(workflow, owner="alice", now=time.time())).result().id
    until(lambda: len(source.running) == 1, "the task to run remotely")
    first.stop()  # the server goes; the remote execution goes on

    source.gate.clear()
    source.asked.clear()
    second = Scheduler(engine, source, settings)
    began = time.monotonic()
    second.start()
    assert time.monotonic() - began < 5, "start() waited for the reconciliation"
    assert source.asked.wait(10)
    try:
        assert second.nodes() == []  # a read is answered: no node is known before the recovery
        later = second.submit_later(prepare_job(workflow, owner="alice", now=time.time()))
        with pytest.raises(concurrent.futures.TimeoutError):
            later.result(timeout=0.5)  # held until the recovery
        assert not second.recovered.done() and stored_jobs(engine) == [job]
    finally:
        source.gate.set()
    second.recovered.result(10)
    other = later.result(10).id
    source.release.set()
    assert second.wait(job, 30) is JobStatus.FINISHED  # adopted, not run again
    assert second.wait(other, 30) is JobStatus.FINISHED
    second.stop()
    engine.dispose()
    entries = [e for e in journal.read(tmp_path / EVENT_LOG) if not isinstance(e, journal.Snapshot)]
    kinds = [type(event) for _, events in entries for event in events]
    assert kinds.index(ev.Recovered) == 0 and ev.Submitted in kinds  # the submission after the recovery


def test_a_scheduler_stopped_while_it_reconciles_fails_what_waited(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = connect(settings.resolved_database_url())
    source = BlockingReconcileSource()
    source.gate.set()
    first = Scheduler(engine, source, settings)
    first.start()
    workflow = Workflow(name="Remote", tasks=[python_task("A", "pass")])
    first.submit_later(prepare_job(workflow, owner="alice", now=time.time())).result()
    until(lambda: len(source.running) == 1, "the task to run remotely")
    first.stop()
    source.gate.clear()
    second = Scheduler(engine, source, settings)
    second.start()
    held = second.submit_later(prepare_job(workflow, owner="alice", now=time.time()))
    second.stop()  # while the source still does not answer
    source.gate.set()
    engine.dispose()
    with pytest.raises(Exception, match="stopped before it recovered"):
        held.result(10)
    with pytest.raises(Exception, match="stopped before it recovered"):
        second.recovered.result(10)


class FailingReconcileSource(StandInSource):
    """A test double: the stand-in remote source, whose ``reconcile`` fails once ``failing`` is set."""

    failing = False

    def reconcile(self, recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        if self.failing:
            raise NodeError("the Dask scheduler answered nonsense")
        return super().reconcile(recorded, timeout)


def test_a_failed_reconciliation_stops_the_scheduler_and_says_why(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = connect(settings.resolved_database_url())
    source = FailingReconcileSource()
    first = Scheduler(engine, source, settings)
    first.start()
    workflow = Workflow(name="Remote", tasks=[python_task("A", "pass")])
    job = first.submit_later(prepare_job(workflow, owner="alice", now=time.time())).result().id
    until(lambda: len(source.running) == 1, "the task to run remotely")
    first.stop()
    source.failing = True
    second = Scheduler(engine, source, settings)
    second.start()  # returns: the failure comes on the scheduler thread
    with pytest.raises(SchedulerError, match=r"unexpected error: NodeError.*answered nonsense"):
        second.recovered.result(10)
    with pytest.raises(SchedulerError, match="answered nonsense"):
        second.kill_job(job)  # nothing decided: the store keeps what the previous runner left
    second.stop()
    with engine.connect() as connection:
        status = connection.execute(sa.select(schema.jobs.c.status).where(schema.jobs.c.id == job)).scalar()
    engine.dispose()
    source.release.set()
    assert status == "RUNNING"


SLEEP = "name: Sleeper\ntasks:\n  Sleep:\n    script:\n      bash: sleep 120\n"
QUICK = "name: Quick\ntasks:\n  Echo:\n    script:\n      bash: echo after\n"


@pytest.fixture
def gate() -> Iterator[str]:
    name = f"gate-{time.monotonic_ns()}"
    GATES[name], ASKED[name] = threading.Event(), threading.Event()
    GATES[name].set()
    yield name
    GATES.pop(name).set()
    ASKED.pop(name)


def job(server: LiveServer, job_id: int, wait: int = 0) -> dict[str, object]:
    answer = httpx.get(
        f"{server.api}/jobs/{job_id}", params={"wait": wait}, headers=bearer(server.admin_token), timeout=60
    )
    answer.raise_for_status()
    document: dict[str, object] = answer.json()
    return document


def submit(server: LiveServer, workflow: str) -> int:
    answer = httpx.post(
        f"{server.api}/jobs", json={"workflow": workflow}, headers=bearer(server.admin_token), timeout=60
    )
    answer.raise_for_status()
    return int(answer.json()["id"])


def test_the_server_answers_reads_while_a_node_source_does_not_answer_its_reconciliation(
    tmp_path: Path, gate: str
) -> None:
    sources = (NodeSourceConfig("gated", "scheduler.doubles:gated_local", {"gate": gate}),)
    data = tmp_path / "data"
    with live_server(data, node_sources=sources) as server:
        sleeper = submit(server, SLEEP)
        until(lambda: job(server, sleeper)["status"] == "RUNNING", "the sleeper to run")
    GATES[gate].clear()  # the next start's reconciliation waits
    with live_server(data, node_sources=sources) as server:  # started: start() did not wait
        assert ASKED[gate].wait(10)
        headers = bearer(server.admin_token)
        try:
            assert job(server, sleeper)["status"] == "RUNNING"  # as stored: not recovered yet
            nodes = httpx.get(f"{server.api}/nodes", headers=headers, timeout=10)
            assert nodes.status_code == 200, nodes.text
            submitted: list[int] = []
            posting = threading.Thread(target=lambda: submitted.append(submit(server, QUICK)))
            posting.start()
            posting.join(timeout=1.0)
            assert posting.is_alive() and not submitted  # held until the recovery
        finally:
            GATES[gate].set()
        killed = httpx.post(f"{server.api}/jobs/{sleeper}/kill", headers=headers, timeout=60)
        killed.raise_for_status()  # (its execution was lost with the previous server: run again)
        posting.join(timeout=60)
        assert len(submitted) == 1
        assert job(server, submitted[0], wait=20)["status"] == "FINISHED"


def test_the_planner_submits_nothing_before_the_scheduler_recovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, asked = threading.Event(), threading.Event()

    def blocked_reconcile(recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        """A test double of the node sources' reconciliation: waits at the gate, adopts nothing."""
        asked.set()
        gate.wait()
        return []

    platform = Platform(Settings(data_dir=tmp_path / "data", nodes=1))
    monkeypatch.setattr(platform.nodes, "reconcile", blocked_reconcile)
    vault = Vault(platform.settings.data_dir / "credentials.key")
    with platform:
        owner = new_user(platform)
        clock = Clock(time.time())
        planner = Planner(platform, vault, clock=clock)
        every_minute = ScheduleSpec(cron="* * * * *")
        plan = planner.create(
            owner, PlanDraft(bucket=new_workflow(platform, owner), workflow="Planned", schedule=every_minute)
        )
        assert plan.next_at is not None
        clock.now = plan.next_at + 1  # due
        try:
            with planner:
                assert asked.wait(10)
                time.sleep(0.5)  # the planner thread's chance to (wrongly) run the plan
                assert planner.runs(owner, plan.id, limit=10) == [] and stored_jobs(platform.engine) == []
                gate.set()
                until(lambda: len(planner.runs(owner, plan.id, limit=10)) == 1, "the planned time to run")
        finally:
            gate.set()
        (run,) = planner.runs(owner, plan.id, limit=10)
        assert (run.status, run.scheduled_at) == ("submitted", plan.next_at)
        assert run.job_id is not None and platform.wait(run.job_id, 30) is JobStatus.FINISHED
