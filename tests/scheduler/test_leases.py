"""Leases: an execution is recorded once, when its lease closes; after a restart the scheduler adopts
what the node source still runs and re-runs the rest.

The "execution recorded twice" race: a job killed while its task runs, then removed, gives its id to
the next job on SQLite; the killed execution's late report named the same task id and execution
number as the new job's first task, and was taken for it (the new task aborted and its execution
recorded twice). The killed job's lease now turns orphan when the job ends, and when the job is
removed, its late report only frees the node.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.helpers import platform, python_task, tasks_by_name
from runyard.model import JobStatus, TaskStatus, Workflow
from runyard.nodes.protocol import (
    NodeEvent,
    NodeInfo,
    NodeUp,
    OutcomeKind,
    RecordedExecution,
    TaskDone,
    TaskOutcome,
    TaskSpec,
    TaskStarted,
)
from runyard.scheduler import events as ev
from runyard.scheduler import journal
from runyard.scheduler.loop import Scheduler
from runyard.scheduler.rules import Rules
from runyard.scheduler.submission import prepare_job
from runyard.settings import Settings
from runyard.store import jobs as store
from runyard.store.database import connect
from runyard.store.jobs import ExecutionRecord


def until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_killed_jobs_late_report_is_not_taken_for_the_job_given_its_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker, go = tmp_path / "node", tmp_path / "go"
    note = f"open({str(marker)!r}, 'a').write(variables.get('PA_NODE_NAME') + '\\n')\n"
    killed = Workflow(name="Killed", tasks=[python_task("Sleep", note + "import time; time.sleep(30)")])
    wait_for_go = (
        f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.02)\nresult = 'slept'"
    )
    reused = Workflow(
        name="Reused", tasks=[python_task("Sleep", wait_for_go), python_task("After", "pass", "Sleep")]
    )
    with platform(tmp_path / "data", nodes=2) as p:
        victim = p.submit(killed)
        until(lambda: marker.exists() and marker.read_text().endswith("\n"), "the task to kill to run")
        node = marker.read_text().strip()
        agent = p.nodes.agent_pid(node)
        os.kill(agent, signal.SIGSTOP)  # its kill, and so its report, wait until the next job runs
        try:
            p.kill_job(victim)
            p.remove_job(victim)
            job = p.submit(reused)
            assert job == victim  # SQLite gives the removed job's id again
            until(lambda: tasks_by_name(p.report(job))["Sleep"]["status"] == "RUNNING", "the new job to run")
        finally:
            os.kill(agent, signal.SIGCONT)
        until(lambda: next(n for n in p.node_views() if n.name == node).state == "free", "the late report")
        go.touch()  # the new job's task ends only after the killed one's report came
        assert p.wait(job, 30) is JobStatus.FINISHED
        tasks = tasks_by_name(p.report(job))
        with p.engine.connect() as connection:
            outcomes = [
                (e.task_number, e.execution, e.outcome) for e in store.load_executions(connection, job)
            ]
    assert (tasks["Sleep"]["status"], tasks["Sleep"]["result"]) == ("FINISHED", "slept")
    assert outcomes == [(0, 1, "finished"), (1, 1, "finished")]
    assert "recorded twice" not in caplog.text


def _outcome(task_id: str, execution: int, kind: OutcomeKind = OutcomeKind.FINISHED) -> TaskOutcome:
    return TaskOutcome(task_id, execution, kind, result_json="done", started_at=1.0, finished_at=2.0)


def _node(name: str) -> ev.Joined:
    return ev.Joined(NodeInfo(name, "test", "host", f"test://host/{name}"))


def test_the_race_replayed_from_a_log_records_each_execution_once() -> None:
    """The interleaving above as event-log turns, fed to a fresh core: the tool that found it."""

    def job() -> ev.Submitted:
        workflow = Workflow(
            name="Job", tasks=[python_task("Sleep", "pass"), python_task("After", "pass", "Sleep")]
        )
        prepared = prepare_job(workflow, owner="alice", now=0.0)
        prepared.id = 1
        return ev.Submitted(prepared, {})

    turns: list[tuple[float, list[ev.Event]]] = [
        (1.0, [_node("n1"), _node("n2"), job()]),  # Sleep of job 1 starts on n1
        (2.0, [ev.KillJob(1)]),
        (3.0, [ev.RemoveJob(1)]),
        (4.0, [job()]),  # the same id again: its Sleep starts on n2 (n1 still runs the killed one)
        (5.0, [ev.Ended("n1", _outcome("1t0", 1, OutcomeKind.KILLED))]),  # the killed one's late report
        (6.0, [ev.Ended("n2", _outcome("1t0", 1))]),
        (7.0, [ev.Ended("n1", _outcome("1t1", 1))]),  # After, on the freed n1
    ]
    replayed = journal.replay(turns, Rules())
    tasks = replayed.jobs[1].tasks
    assert (replayed.jobs[1].status, tasks["Sleep"].status, tasks["Sleep"].result_json) == (
        JobStatus.FINISHED,
        TaskStatus.FINISHED,
        "done",
    )
    assert [(r.task_number, r.execution, r.node, r.outcome) for r in replayed.executions[1]] == [
        (0, 1, "n2", "finished"),
        (1, 1, "n1", "finished"),
    ]


class StandInSource:
    """A stand-in for a node source whose executions outlive the server (as Dask workers do): each
    "remote" execution is a thread that ends when released. ``stop`` (the server stopping) leaves them
    running; a new server's ``reconcile`` adopts those still held."""

    name = "remote"

    def __init__(self) -> None:
        self.running: dict[str, tuple[str, int]] = {}  # node -> (task id, execution)
        self.release = threading.Event()
        self._on_event: Callable[[NodeEvent], None] = lambda event: None
        self._lock = threading.Lock()

    def start(self, on_event: Callable[[NodeEvent], None]) -> None:
        self._on_event = on_event
        for node in self.nodes():
            on_event(NodeUp(node))

    def nodes(self) -> list[NodeInfo]:
        return [
            NodeInfo(f"remote-{n}", self.name, "elsewhere", f"remote://elsewhere/remote-{n}") for n in (1, 2)
        ]

    def run(self, node: str, spec: TaskSpec) -> None:
        with self._lock:
            self.running[node] = (spec.task_id, spec.execution)
        self._on_event(TaskStarted(node, spec.task_id, spec.execution))
        threading.Thread(target=self._execute, args=(node, spec.task_id, spec.execution), daemon=True).start()

    def _execute(self, node: str, task_id: str, execution: int) -> None:
        self.release.wait()
        with self._lock:
            if self.running.get(node) != (task_id, execution):
                return  # forgotten (its worker died while no server listened)
            del self.running[node]
            report = self._on_event
        report(TaskDone(node, _outcome(task_id, execution)))

    def kill(self, node: str, task_id: str, execution: int) -> None:
        raise AssertionError("nothing is killed here")

    def reconcile(self, recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        with self._lock:
            return [r for r in recorded if self.running.get(r.node) == (r.task_id, r.execution)]

    def stop(self) -> None:
        with self._lock:
            self._on_event = lambda event: None


def test_a_restart_adopts_what_the_source_still_runs_and_reruns_the_rest(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = connect(settings.resolved_database_url())
    source = StandInSource()
    workflow = Workflow(name="Remote", tasks=[python_task("A", "pass"), python_task("B", "pass")])
    first = Scheduler(engine, source, settings)
    first.start()
    job = first.submit_later(prepare_job(workflow, owner="alice", now=time.time())).result().id
    until(lambda: len(source.running) == 2, "both tasks to run remotely")
    first.stop()  # the server goes; the remote executions go on
    with source._lock:
        lost = source.running.pop("remote-2")  # ... but one worker died meanwhile
    second = Scheduler(engine, source, settings)
    second.start()
    until(lambda: len(source.running) == 2, "the lost task to run again")
    source.release.set()
    assert second.wait(job, 30) is JobStatus.FINISHED
    second.stop()
    with engine.connect() as connection:
        loaded = store.load_job(connection, job, lambda mapping: workflow)
        records = store.load_executions(connection, job)
    engine.dispose()
    assert loaded is not None
    by_id = {task.task_id(job): task for task in loaded.tasks.values()}
    rerun = by_id[lost[0]]
    adopted = next(task for task in loaded.tasks.values() if task is not rerun)
    assert (adopted.executions, rerun.executions) == (1, 2)
    assert [(r.task_number, r.execution, r.outcome, r.error) for r in records] == sorted(
        [
            (adopted.number, 1, "finished", None),
            (rerun.number, 1, "node_lost", "lost with the previous runner"),
            (rerun.number, 2, "finished", None),
        ]
    )
    assert all(isinstance(r, ExecutionRecord) for r in records)
