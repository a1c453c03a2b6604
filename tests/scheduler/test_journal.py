"""The event log rotated: every file opens with a snapshot of the core, from which it replays alone.

A snapshot (jobs with loop and replica instances, results, execution records, leases orphan or not,
locks, tokens, selection refusals) round-trips, and a core restored from it takes the following turns
as the original did; a real platform's log rotated mid-run (a tiny size) replays from its newest file,
and from each older one on, to the store's state; the old files are bounded in number; a start
rotates; a torn last line is skipped, any other bad line named.
"""

from __future__ import annotations

import json
import logging
import math
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.helpers import EXAMPLES, platform, python_task
from runyard.errors import InvalidRequestError
from runyard.formats import from_mapping, load
from runyard.model import Block, JobStatus, Workflow
from runyard.nodes.protocol import NodeInfo, OutcomeKind, TaskOutcome
from runyard.scheduler import events as ev
from runyard.scheduler import journal
from runyard.scheduler.core import Core, Lease, Turn
from runyard.scheduler.loop import EVENT_LOG
from runyard.scheduler.rules import Rules
from runyard.scheduler.state import JobState
from runyard.scheduler.submission import prepare_job
from runyard.server.config import load_config
from runyard.settings import Settings
from runyard.store import jobs as store
from runyard.store import schema
from runyard.store.database import connect
from runyard.store.jobs import ExecutionRecord
from scheduler.helpers import loop, replicate, task, workflow
from scheduler.test_core import Interleaving
from scheduler.test_replay import started, task_status, until

NODES = ("n1", "n2", "n3")


def joined(node: str) -> ev.Joined:
    return ev.Joined(NodeInfo(node, "test", "host", f"test://host/{node}"))


def submitted(job_id: int, wf: Workflow) -> ev.Submitted:
    job = prepare_job(wf, owner="alice", now=0.0)
    job.id = job_id
    return ev.Submitted(job, {})


class Driver:
    """Feeds a core turns made from its own state, keeping the execution records a store would keep;
    ``clone`` (a core restored from a snapshot) is fed the same turns."""

    def __init__(self) -> None:
        self.core = Core(Rules(max_failures_per_task=2, selection_retry_delay=50.0))
        self.clone: Core | None = None
        self.now = 0.0
        self.records: dict[int, list[ExecutionRecord]] = {}

    def turn(self, events: list[ev.Event]) -> Turn:
        self.now += 1.0
        turn = self.core.handle(events, self.now)
        if self.clone is not None:
            again = self.clone.handle(events, self.now)
            assert (again.jobs, again.executions, again.starts, again.replies, again.ended) == (
                turn.jobs,
                turn.executions,
                turn.starts,
                turn.replies,
                turn.ended,
            )
        for job_id, records in turn.executions.items():
            self.records.setdefault(job_id, []).extend(records)
        for job_id in turn.removed:
            self.records.pop(job_id, None)
        return turn

    def end(self, decide: Callable[[Lease], TaskOutcome], *more: ev.Event) -> Turn:
        """Every leased execution ends as ``decide`` says (orphans too), then ``more`` inputs."""
        ended = [ev.Ended(node, decide(lease)) for node, lease in sorted(self.core.leases.items())]
        return self.turn([*ended, *more])

    def snapshot(self, path: Path) -> journal.Snapshot:
        """The core's snapshot line written to ``path`` and read back."""
        alive = {job: records for job, records in self.records.items() if job in self.core.active}
        path.write_text(journal.snapshot_line(self.core, alive))
        (entry,) = journal.read(path)
        assert isinstance(entry, journal.Snapshot)
        return entry


def outcome(lease: Lease) -> TaskOutcome:
    """Split replicates (2 more each iteration), Merge loops once, Flaky fails its first execution."""
    flow: dict[str, object] | None = None
    kind = OutcomeKind.FINISHED
    template = lease.task.partition("#")[0].partition("*")[0]
    iteration = int(lease.task.partition("#")[2].partition("*")[0] or 0)
    if template == "Split":
        flow = {"runs": 2 + iteration}
    elif template == "Merge":
        flow = {"loop": iteration < 1}
    elif template == "Flaky" and lease.execution == 1:
        kind = OutcomeKind.FAULTY
    return TaskOutcome(
        lease.task_id, lease.execution, kind, result=pickle.dumps(lease.number), result_json=lease.number,
        error="failed once" if kind is OutcomeKind.FAULTY else None, flow=flow, started_at=1.0,
        finished_at=2.0, variables={"SEEN": lease.task},
    )  # fmt: skip


def test_a_snapshot_of_jobs_with_loops_replicas_and_executions_round_trips(tmp_path: Path) -> None:
    looped = workflow(
        task("Split", block=Block.START, action=replicate()),
        task("Process", "Split"),
        task("Merge", "Process", block=Block.END, action=loop("Split")),
        task("Flaky", max_number_of_execution=2),
    )
    selective = workflow(task("Long"), priority="high")
    driver = Driver()
    driver.turn([ev.Recovered({"n3": ["gpu"]}), *map(joined, NODES), submitted(1, looped)])
    driver.turn([ev.LockNode("n2", "admin"), ev.AddNodeToken("n3", "spare")])
    for _ in range(20):  # until the loop's second iteration is replicated
        if "Process#1*1" in driver.core.active[1].job.tasks:
            break
        driver.end(outcome)
    driver.end(outcome, ev.UnlockNode("n2"), ev.RemoveNodeToken("n3", "spare"), submitted(2, selective))
    node, picky = next((n, lease) for n, lease in driver.core.leases.items() if lease.job_id == 1)
    refused = TaskOutcome(picky.task_id, picky.execution, OutcomeKind.NOT_SELECTED)
    driver.turn([ev.Ended(node, refused)])  # a selection refusal, until now + 50
    driver.core.refusals.add(1, "Merge#1", "n3", math.inf)  # as a retry "elsewhere" leaves it: for good
    running = next(n for n, lease in driver.core.leases.items() if lease.job_id == 2)
    driver.turn([ev.KillJob(2)])  # its execution's lease turns orphan, the node busy until it reports
    assert driver.core.leases[running].orphan and 1 in driver.records
    jobs = driver.core.active
    assert {"Split#1", "Process#1*1", "Merge#1"} <= set(jobs[1].job.tasks)  # loop and replicas made

    snapshot = driver.snapshot(tmp_path / "snapshot.jsonl")
    assert snapshot.rules == driver.core.rules
    assert snapshot.jobs == [jobs[1].job]
    assert snapshot.jobs[0].tasks["Split"].result == pickle.dumps(0)
    assert snapshot.executions == {1: driver.records[1]}
    assert snapshot.nodes == driver.core.nodes_state()
    assert math.inf in [until for _, _, _, until in snapshot.nodes.refusals]
    driver.clone = snapshot.core()
    assert (driver.clone.tokens, driver.clone.waking) == (driver.core.tokens, driver.core.waking)
    for _ in range(6):  # the clone takes every following turn as the original does
        driver.end(outcome)
    assert 1 not in driver.core.active and driver.core.leases == {}


class Restored(Interleaving):
    """An interleaving whose core is snapshotted at one step; a core restored from the snapshot then
    takes the same turns and must make the same ones."""

    def __init__(self, path: Path) -> None:
        self.clone: Core | None = None
        self.path = path
        super().__init__()

    def turn(self, events: list[ev.Event]) -> Turn:
        turn = super().turn(events)
        if self.clone is not None:
            again = self.clone.handle(events, self.now)
            assert (again.jobs, again.executions, again.starts, again.replies) == (
                turn.jobs,
                turn.executions,
                turn.starts,
                turn.replies,
            )
            assert self.clone.leases == self.core.leases
        return turn

    def snapshot(self) -> None:
        self.path.write_text(journal.snapshot_line(self.core, {}))
        (entry,) = journal.read(self.path)
        assert isinstance(entry, journal.Snapshot)
        self.clone = entry.core()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 255)), max_size=40), st.integers(0, 40))
def test_a_core_restored_from_a_snapshot_at_any_point_takes_the_next_turns_alike(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, int]], at: int
) -> None:
    interleaving = Restored(tmp_path_factory.mktemp("snapshot") / "snapshot.jsonl")
    for number, (action, pick) in enumerate(steps):
        if number == at:
            interleaving.snapshot()
        interleaving.step(action, pick)


def stored_state(
    settings: Settings,
) -> tuple[dict[int, JobState | None], dict[int, list[ExecutionRecord]], set[int]]:
    """Every stored job, its execution records, and the ids of the alive ones."""
    engine = connect(settings.resolved_database_url())
    with engine.connect() as connection:
        ids = sorted(connection.execute(sa.select(schema.jobs.c.id)).scalars())
        jobs = {job: store.load_job(connection, job, from_mapping) for job in ids}
        executions = {job: store.load_executions(connection, job) for job in ids}
        alive = set(store.alive_job_ids(connection))
    engine.dispose()
    return dict(jobs), executions, alive


def marking_sleeper(name: str, marker: Path) -> Workflow:
    """A job whose one task ``Sleep`` writes a line to ``marker`` once running, then sleeps a minute."""
    code = f"open({str(marker)!r}, 'a').write('x\\n')\nimport time; time.sleep(60)"
    return Workflow(name=name, tasks=[python_task("Sleep", code)])


def test_a_log_rotated_mid_run_replays_from_its_newest_file_and_from_each_older_one(tmp_path: Path) -> None:
    marker, data = tmp_path / "running", tmp_path / "data"
    survivor = marking_sleeper("Survivor", marker)
    killed = Workflow(name="Killed", tasks=[python_task("Sleep", "import time; time.sleep(30)")])
    with platform(data, nodes=2, event_log_max_bytes=6_000) as p:
        jobs = [
            p.submit(load(EXAMPLES / "replicate.xml")),
            p.submit(load(EXAMPLES / "loop.xml"), {"ITERATIONS": "3"}),
            p.submit(load(EXAMPLES / "branch.xml"), {"OS_NAME": "Windows"}),
        ]
        victim = p.submit(killed)
        until(lambda: task_status(p, victim, "Sleep") == "RUNNING", "the job to kill to run")
        p.kill_job(victim)  # its lease turns orphan until the node reports the kill
        for job in jobs:
            assert p.wait(job, 60) is JobStatus.FINISHED
        alive = p.submit(survivor)
        until(lambda: started(marker), "the survivor to run")
        assert task_status(p, alive, "Sleep") == "RUNNING"
        settings = p.settings

    log = data / EVENT_LOG
    kept = journal.files(log)
    assert [path.name for path in kept] == [f"{EVENT_LOG}.{n}" for n in (3, 2, 1)] + [EVENT_LOG]
    assert not (data / f"{EVENT_LOG}.4").exists()  # bounded: the oldest were dropped
    stored, executions, alive_ids = stored_state(settings)
    assert alive_ids == {alive}
    for first in range(len(kept)):  # each file starts with a snapshot: replay from any on
        entries = [entry for path in kept[first:] for entry in journal.read(path)]
        assert isinstance(entries[0], journal.Snapshot)
        replayed = journal.replay(entries)
        assert alive_ids <= set(replayed.jobs)
        for job, state in replayed.jobs.items():
            assert state == stored[job], f"job {job} replays differently from {kept[first].name}"
            assert replayed.executions.get(job, []) == executions[job], f"job {job}'s executions"
    newest = journal.replay(journal.read(log))
    assert newest.jobs[alive].tasks["Sleep"].status.value == "RUNNING"


def test_a_start_rotates_and_the_new_file_opens_with_the_alive_jobs(tmp_path: Path) -> None:
    marker, data = tmp_path / "running", tmp_path / "data"
    sleeper = marking_sleeper("Sleeper", marker)
    with platform(data, nodes=1) as p:
        done = p.submit(Workflow(name="Quick", tasks=[python_task("Pass", "pass")]))
        assert p.wait(done, 30) is JobStatus.FINISHED
        alive = p.submit(sleeper)
        until(lambda: started(marker), "the sleeper to run")
    log = data / EVENT_LOG
    first = list(journal.read(log))
    assert isinstance(first[0], journal.Snapshot) and first[0].jobs == []  # the first start: nothing alive
    with platform(data, nodes=1) as p:
        p.scheduler.recovered.result(30)
        with p.engine.connect() as connection:  # recovered: lost with the previous runner
            assert [r.outcome for r in store.load_executions(connection, alive)] == ["node_lost"]
        p.kill_job(alive)
        settings = p.settings
    assert journal.files(log) == [data / f"{EVENT_LOG}.1", log]
    assert list(journal.read(data / f"{EVENT_LOG}.1")) == first  # the previous run's file, whole
    entries = list(journal.read(log))
    snapshot = entries[0]
    assert isinstance(snapshot, journal.Snapshot)
    assert [job.id for job in snapshot.jobs] == [alive]  # as the store held it at the start
    assert snapshot.jobs[0].tasks["Sleep"].status.value == "RUNNING" and snapshot.nodes.leases == {}
    recovered = entries[1]
    assert not isinstance(recovered, journal.Snapshot) and isinstance(recovered[1][0], ev.Recovered)
    stored, executions, _ = stored_state(settings)
    replayed = journal.replay(entries)
    assert replayed.jobs == {alive: stored[alive]}
    assert replayed.executions[alive] == executions[alive]


def turn_line(now: float) -> str:
    return journal.EventLog.line(now, [ev.UnlockNode("n1")])


def test_a_torn_last_line_is_skipped_any_other_bad_line_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / EVENT_LOG
    snapshot = journal.snapshot_line(Core(Rules()), {})
    log.write_text(snapshot + turn_line(1.0) + turn_line(2.0)[:25])  # a crash in the middle of an append
    with caplog.at_level(logging.WARNING):
        entries = list(journal.read(log))
    assert len(entries) == 2 and entries[1] == (1.0, [ev.UnlockNode("n1")])
    assert f"{log}: line 3 is cut short" in caplog.text
    log.write_text(snapshot + turn_line(1.0)[:25] + "\n" + turn_line(2.0))  # not the last line
    with pytest.raises(journal.EventLogError, match=r"events\.jsonl: line 2 is not a snapshot or a turn"):
        list(journal.read(log))
    log.write_text(snapshot + json.dumps({"now": 1.0, "events": [["Teleported", {}]]}) + "\n")
    with pytest.raises(journal.EventLogError, match=r"line 2 is not a snapshot or a turn: KeyError"):
        list(journal.read(log))  # whole, but not a turn: never skipped


def test_the_size_setting_is_checked_and_a_server_passes_it_on() -> None:
    with pytest.raises(InvalidRequestError, match="event_log_max_bytes: at least 1 byte"):
        Settings(data_dir=Path("data"), event_log_max_bytes=0)
    with pytest.raises(InvalidRequestError, match="event_log_max_bytes: at least 1 byte, got 0"):
        load_config({}, {"RUNYARD_EVENT_LOG_MAX_BYTES": "0"})  # before the server starts
    config = load_config({}, {"RUNYARD_EVENT_LOG_MAX_BYTES": "4096"})
    assert config.settings().event_log_max_bytes == 4096
