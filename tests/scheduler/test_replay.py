"""The event log of real jobs on a real platform replays to the state the store holds.

Branch, loop and replicate examples, a task that fails once then passes (a retry), a killed task, a
killed then removed job, a node agent killed mid-task, and a platform stopped while a task runs then
started again (the execution lost with the previous runner): then a fresh core fed the log reaches
the same jobs, task instances, statuses and execution records as the store.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from engine.helpers import EXAMPLES, platform, python_task, tasks_by_name
from runyard.formats import from_mapping, load
from runyard.model import JobStatus, Workflow
from runyard.platform import Platform
from runyard.scheduler import journal
from runyard.scheduler.loop import EVENT_LOG
from runyard.store import jobs as store
from runyard.store import schema
from runyard.store.database import connect


def until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def task_status(p: Platform, job: int, task: str) -> str:
    return str(tasks_by_name(p.report(job))[task]["status"])


def sleeper(name: str, seconds: float) -> Workflow:
    return Workflow(name=name, tasks=[python_task("Sleep", f"import time; time.sleep({seconds})")])


def interrupted_once(name: str, marker: Path) -> Workflow:
    """Its first execution notes its node in ``marker`` and sleeps until interrupted; the next one ends."""
    code = (
        f"import os, time\nfirst = not os.path.exists({str(marker)!r})\n"
        f"open({str(marker)!r}, 'a').write(variables.get('PA_NODE_NAME') + '\\n')\n"
        "time.sleep(60 if first else 0)"
    )
    return Workflow(name=name, tasks=[python_task("Sleep", code)])


def started(marker: Path) -> bool:
    return marker.exists() and marker.read_text().endswith("\n")


def test_a_real_platforms_event_log_replays_to_the_stored_state(tmp_path: Path) -> None:
    flaky = tmp_path / "flaky"
    retried = Workflow(
        name="Retried",
        tasks=[
            python_task(
                "Flaky",
                f"import pathlib\np = pathlib.Path({str(flaky)!r})\n"
                "n = int(p.read_text()) if p.exists() else 0\np.write_text(str(n + 1))\n"
                "if n < 1: raise RuntimeError('the first try fails')",
                max_number_of_execution=2,
            )
        ],
    )
    killed_task = Workflow(
        name="KilledTask",
        tasks=[python_task("Sleep", "import time; time.sleep(30)"), python_task("After", "pass", "Sleep")],
    )
    marker, interrupted = tmp_path / "lost", tmp_path / "interrupted"
    data = tmp_path / "data"
    with platform(data, nodes=2) as p:
        jobs = [
            p.submit(load(EXAMPLES / "replicate.xml")),
            p.submit(load(EXAMPLES / "branch.xml"), {"OS_NAME": "Windows"}),
            p.submit(load(EXAMPLES / "loop.xml"), {"ITERATIONS": "2"}),
            p.submit(retried),
        ]
        for job in jobs:
            assert p.wait(job, 60) is JobStatus.FINISHED
        killed = p.submit(killed_task)
        until(lambda: task_status(p, killed, "Sleep") == "RUNNING", "the task to kill to run")
        p.kill_task(killed, "Sleep")
        assert p.wait(killed, 30) is JobStatus.FINISHED
        removed = p.submit(sleeper("Removed", 30))
        until(lambda: task_status(p, removed, "Sleep") == "RUNNING", "the job to kill to run")
        p.kill_job(removed)
        p.remove_job(removed)
        lost = p.submit(interrupted_once("NodeLost", marker))
        until(lambda: started(marker), "the task whose node dies to run")
        os.kill(p.nodes.agent_pid(marker.read_text().strip()), signal.SIGKILL)
        assert p.wait(lost, 30) is JobStatus.FINISHED
        survivor = p.submit(interrupted_once("Survivor", interrupted))
        until(lambda: started(interrupted), "the task the stop interrupts to run")
    with platform(data, nodes=2) as p:
        assert p.wait(survivor, 30) is JobStatus.FINISHED
        settings = p.settings

    replayed = journal.replay(journal.read_all(data / EVENT_LOG))  # every file, oldest first
    engine = connect(settings.resolved_database_url())
    with engine.connect() as connection:
        ids = sorted(connection.execute(sa.select(schema.jobs.c.id)).scalars())
        stored = {job: store.load_job(connection, job, from_mapping) for job in ids}
        executions = {job: store.load_executions(connection, job) for job in ids}
    engine.dispose()
    assert removed not in ids or removed == lost  # SQLite gives a removed job's id again
    assert sorted(replayed.jobs) == ids == sorted([*jobs, killed, lost, survivor])
    for job in ids:
        assert replayed.jobs[job] == stored[job], f"job {job} replays differently"
        assert replayed.executions.get(job, []) == executions[job], (
            f"job {job}'s executions replay differently"
        )
    outcomes = {job: [e.outcome for e in records] for job, records in executions.items()}
    assert outcomes[jobs[3]] == ["faulty", "finished"]
    assert outcomes[killed] == ["killed", "finished"]  # Sleep killed, After run
    assert outcomes[lost] == ["node_lost", "finished"]
    assert outcomes[survivor] == ["node_lost", "finished"]  # lost with the previous runner
