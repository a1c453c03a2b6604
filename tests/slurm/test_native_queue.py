"""A ``NATIVE_SCHEDULER`` task while SLURM keeps its job queued (the test cluster's ``held`` partition, DOWN:
it takes jobs and starts none; a test lets its job run by moving it to the default partition): PENDING, and
its job PENDING in ``squeue``; RUNNING once the job is up and the task runs there, from then on
(``started_at``), with the job's host in ``PA_NODE_HOST``; killed while queued, ABORTED with its job
cancelled. And what becomes of native tasks when their job is cancelled, their source removed, or the
platform stopped."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runyard.model import JobStatus, Script, ScriptExecutable, Task, Workflow
from runyard.platform import Platform
from runyard.reports import TaskReport
from runyard.settings import NodeSourceConfig, Settings

HELD = "held"  # the partition scripts/slurm declares DOWN
OPTIONS = {
    "min_jobs": 0,
    "max_jobs": 0,
    "native_slots": 2,
    "memory": "512MiB",
    "walltime": "00:10:00",
    "interface": "lo",
}


@pytest.fixture(scope="module")
def platform(slurm_conf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    source = NodeSourceConfig("slurm", "slurm", OPTIONS)
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), node_sources=(source,))
    with Platform(settings) as started:
        yield started


def release(name: str) -> None:
    """Let the queued job ``name`` run: moved from the ``held`` partition (which stays DOWN for the other
    tests, run meanwhile by other workers) to the default one."""
    (job_id,) = queued(name, "PENDING")
    subprocess.run(
        ["scontrol", "update", f"JobId={job_id}", "Partition=debug"], check=True, capture_output=True
    )


def waiting(name: str, go: Path) -> Task:
    code = f"""
import os, time
while not os.path.exists({str(go)!r}):
    time.sleep(0.05)
result = {{key: variables.get(key) for key in ("PA_NODE_NAME", "PA_NODE_HOST", "PA_NODE_URL")}}
result["job"] = os.environ.get("SLURM_JOB_ID")
"""
    return Task(
        name=name,
        executable=ScriptExecutable(Script("cpython", code=code)),
        generic_information={"NATIVE_SCHEDULER": "SLURM", "NATIVE_SCHEDULER_PARAMS": f"-p {HELD} -J {name}"},
    )


def queued(name: str, state: str) -> list[str]:
    command = ["squeue", "-h", "-n", name, "-t", state, "-o", "%i"]
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout.split()


def task_report(platform: Platform, job: int) -> TaskReport:
    (reported,) = platform.report(job)["tasks"]
    return reported


def hosts(platform: Platform) -> dict[str, str]:
    return {view.name: view.host for view in platform.scheduler.nodes()}


def until(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_native_task_is_pending_while_its_job_is_queued_then_runs_on_the_jobs_host(
    platform: Platform, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    job = platform.submit(Workflow(name="queued", tasks=[waiting("runyard-queued", go)]))
    until(lambda: queued("runyard-queued", "PENDING"), "the task's job was not queued")
    time.sleep(2)  # SLURM's scheduler ran (sched_interval=1): the job stays queued, the task waits
    reported = task_report(platform, job)
    assert (reported["status"], reported["started_at"]) == ("PENDING", None), reported
    assert reported["node"] is not None and reported["node"].startswith("slurm-native-")
    assert platform.report(job)["status"] == "PENDING"
    released = time.time()
    release("runyard-queued")
    until(
        lambda: task_report(platform, job)["status"] == "RUNNING", "the task did not run once its job was up"
    )
    running = task_report(platform, job)
    assert running["started_at"] is not None and running["started_at"] >= released, running
    assert queued("runyard-queued", "RUNNING")
    assert hosts(platform)[running["node"] or ""] == "127.0.0.1"  # the node shows where its job runs
    go.touch()
    assert platform.wait(job, timeout=60) is JobStatus.FINISHED, platform.report(job)
    reported = task_report(platform, job)
    node, where = reported["node"], reported["result"]
    assert where["PA_NODE_NAME"] == node
    # the host the job's worker reports (interface "lo"), not the server's host name
    assert where["PA_NODE_HOST"] == "127.0.0.1" != socket.gethostname()
    assert where["PA_NODE_URL"] == f"slurm://127.0.0.1/{node}"
    assert reported["started_at"] is not None and reported["started_at"] >= released
    until(lambda: not queued("runyard-queued", "PENDING,RUNNING"), "the task's job outlived it", 30)
    assert hosts(platform)[node or ""] == socket.gethostname()  # at rest: the server's host


def test_a_native_task_killed_while_its_job_is_queued_cancels_the_job(
    platform: Platform, tmp_path: Path
) -> None:
    job = platform.submit(
        Workflow(name="killed-queued", tasks=[waiting("runyard-killed-queued", tmp_path / "never")])
    )
    until(lambda: queued("runyard-killed-queued", "PENDING"), "the task's job was not queued")
    assert task_report(platform, job)["status"] == "PENDING"
    platform.kill_task(job, "runyard-killed-queued")
    assert not platform.wait(job, timeout=30).is_alive
    reported = task_report(platform, job)
    assert (reported["status"], reported["started_at"]) == ("ABORTED", None), reported
    until(
        lambda: not queued("runyard-killed-queued", "PENDING,RUNNING"),
        "the killed task's job is still queued",
        30,
    )
    # the native node is busy until its source confirms the kill (its job cancelled), then free
    until(
        lambda: {view.state for view in platform.scheduler.nodes()} == {"free"},
        "a native node stayed busy",
        30,
    )


def test_native_tasks_across_a_platform_stop(slurm_conf: Path, tmp_path: Path) -> None:
    """A platform stopped (not killed) while a native task runs and another waits in SLURM's queue: the
    running one's job goes on and the next platform adopts it (it runs once); the queued one's job is
    cancelled, and the next platform submits the task again."""
    data, go = tmp_path / "data", tmp_path / "go"
    data.mkdir()
    settings = Settings(data_dir=data, node_sources=(NodeSourceConfig("slurm", "slurm", OPTIONS),))
    running, waiting_task = waiting("runyard-stop-running", go), waiting("runyard-stop-queued", go)
    running.generic_information["NATIVE_SCHEDULER_PARAMS"] = "-J runyard-stop-running"
    with Platform(settings) as first:
        job = first.submit(Workflow(name="across", tasks=[running, waiting_task]))
        until(lambda: queued("runyard-stop-queued", "PENDING"), "the queued task's job was not queued")
        until(
            lambda: (
                {t["name"]: t["status"] for t in first.report(job)["tasks"]}["runyard-stop-running"]
                == "RUNNING"
            ),
            "the running task did not start",
        )
        (kept,) = queued("runyard-stop-running", "RUNNING")
        (cancelled,) = queued("runyard-stop-queued", "PENDING")
    assert queued("runyard-stop-running", "RUNNING") == [kept]
    until(
        lambda: not queued("runyard-stop-queued", "PENDING"),
        "the queued task's job outlived the platform",
        30,
    )
    with Platform(settings) as second:
        until(lambda: queued("runyard-stop-queued", "PENDING"), "the queued task was not submitted again")
        assert queued("runyard-stop-queued", "PENDING") != [cancelled]
        tasks = {t["name"]: t for t in second.report(job)["tasks"]}
        assert tasks["runyard-stop-queued"]["status"] == "PENDING", tasks
        assert tasks["runyard-stop-queued"]["executions"] == 1  # not an error, not a node failure
        go.touch()
        second.kill_task(job, "runyard-stop-queued")
        second.wait(job, timeout=60)
        tasks = {t["name"]: t for t in second.report(job)["tasks"]}
    adopted = tasks["runyard-stop-running"]
    assert (adopted["status"], adopted["executions"], adopted["result"]["job"]) == ("FINISHED", 1, kept), (
        adopted
    )


def test_a_source_removed_while_its_native_task_runs_cancels_its_job(
    platform: Platform, tmp_path: Path
) -> None:
    """Unlike a stop, a removal ends the native tasks' jobs: no server would adopt them."""
    platform.add_node_source("removed", "slurm", {**OPTIONS, "native_slots": 1}, by="admin")
    task = waiting("runyard-removed", tmp_path / "never")
    task.generic_information.update(NATIVE_SCHEDULER="removed", NATIVE_SCHEDULER_PARAMS="-J runyard-removed")
    job = platform.submit(Workflow(name="removed", tasks=[task]))
    until(lambda: task_report(platform, job)["status"] == "RUNNING", "the task did not start")
    platform.remove_node_source("removed")
    until(lambda: not queued("runyard-removed", "PENDING,RUNNING"), "the removed source's job still runs", 30)
    assert not platform.wait(job, timeout=30).is_alive  # lost with its node, then no source takes it
    reported = task_report(platform, job)
    assert reported["status"] == "FAULTY" and "no node source takes its tasks" in str(reported["error"]), (
        reported
    )


def test_a_native_task_whose_job_is_cancelled_while_it_runs_runs_again(
    platform: Platform, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    task = waiting("runyard-cancelled", go)
    task.generic_information["NATIVE_SCHEDULER_PARAMS"] = "-J runyard-cancelled"
    job = platform.submit(Workflow(name="cancelled", tasks=[task]))
    until(lambda: task_report(platform, job)["status"] == "RUNNING", "the task did not start")
    (first,) = queued("runyard-cancelled", "RUNNING")
    subprocess.run(["scancel", first], check=True)
    until(lambda: task_report(platform, job)["executions"] == 2, "the task was not given a new job", 60)
    go.touch()
    assert platform.wait(job, timeout=60) is JobStatus.FINISHED, platform.report(job)
    reported = task_report(platform, job)
    assert reported["executions"] == 2 and reported["result"]["job"] != first, reported


def test_a_native_task_whose_job_is_not_started_in_time_fails_and_its_job_is_cancelled(
    platform: Platform, tmp_path: Path
) -> None:
    platform.add_node_source(
        "hasty", "slurm", {**OPTIONS, "native_slots": 1, "native_start_timeout": 2.0}, by="admin"
    )
    try:
        task = waiting("runyard-hasty", tmp_path / "never")
        task.generic_information["NATIVE_SCHEDULER"] = "hasty"
        job = platform.submit(Workflow(name="hasty", tasks=[task]))
        assert not platform.wait(job, timeout=60).is_alive
        reported = task_report(platform, job)
        assert reported["status"] == "FAULTY", reported
        assert "SLURM did not start the task's job within 2 s (native_start_timeout)" in str(
            reported["error"]
        )
        until(lambda: not queued("runyard-hasty", "PENDING,RUNNING"), "the late job is still queued", 30)
    finally:
        platform.remove_node_source("hasty")
