"""The ``slurm`` node source on the real test cluster: a job's tasks run on nodes that Dask workers host in
SLURM jobs (one more job while they are all busy, back to one once idle), and a task with
``NATIVE_SCHEDULER=SLURM`` runs in a SLURM job submitted for it alone, with its ``NATIVE_SCHEDULER_PARAMS``.
One platform (one to two pool jobs, two native nodes) serves the whole module."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runyard.model import JobStatus, Script, ScriptExecutable, Task, Workflow
from runyard.nodes.slurm_pool import end_pool
from runyard.platform import Platform
from runyard.settings import NodeSourceConfig, Settings

OPTIONS = {
    "min_jobs": 1,
    "max_jobs": 2,
    "idle_release": 1.0,
    "memory": "512MiB",
    "walltime": "00:10:00",
    "interface": "lo",
}
#: What a task reports of the SLURM job it runs in, as SLURM itself says it (squeue).
WHERE = """
import os, subprocess
job = os.environ.get("SLURM_JOB_ID")
command = ["squeue", "-h", "-j", str(job), "-o", "%j %l"]
queued = subprocess.run(command, capture_output=True, text=True).stdout.strip() if job else None
worker, pid = None, os.getpid()
while worker is None and pid > 1:  # the Dask worker hosting this task's node, up the process tree
    pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    worker = pid if b"dask_worker" in open(f"/proc/{pid}/cmdline", "rb").read() else None
result = {"job": job, "queued": queued, "worker": worker}
"""


@pytest.fixture(scope="module")
def platform(slurm_conf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    source = NodeSourceConfig("slurm", "slurm", {**OPTIONS, "native_slots": 2})
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), node_sources=(source,))
    try:
        with Platform(settings) as started:
            yield started
    finally:  # a stopped server leaves its pool for the next one: no next one here
        end_pool(settings.data_dir / "nodes" / "slurm")


def task(name: str, **generic_information: str) -> Task:
    return Task(
        name=name,
        executable=ScriptExecutable(Script("cpython", code=WHERE)),
        generic_information=generic_information,
    )


def run(platform: Platform, *tasks: Task) -> dict[str, Any]:
    job = platform.submit(Workflow(name="slurm-probe", tasks=list(tasks)))
    assert platform.wait(job, timeout=90) is JobStatus.FINISHED, platform.report(job)
    return {reported["name"]: reported for reported in platform.report(job)["tasks"]}


def test_tasks_run_on_nodes_hosted_by_slurm_jobs(platform: Platform) -> None:
    tasks = run(platform, task("A"), task("B"))
    for reported in tasks.values():
        assert reported["node"].startswith("slurm-SLURMCluster-"), reported
        assert reported["result"]["queued"].startswith("runyard-pool ")


def test_a_native_scheduler_task_runs_in_a_slurm_job_of_its_own(platform: Platform) -> None:
    params = {"NATIVE_SCHEDULER": "SLURM", "NATIVE_SCHEDULER_PARAMS": "--time=3 -J runyard-native-probe"}
    tasks = run(platform, task("native", **params), task("pooled"))
    native, pooled = tasks["native"]["result"], tasks["pooled"]["result"]
    assert tasks["native"]["node"].startswith("slurm-native-")
    assert native["queued"] == "runyard-native-probe 3:00"
    assert native["job"] != pooled["job"]
    command = ["squeue", "-h", "-j", native["job"], "-t", "PENDING,RUNNING"]
    queued = subprocess.run(command, capture_output=True, text=True, check=False)
    assert queued.stdout.strip() == ""  # the task's job was cancelled before the task was reported done
    deadline = time.monotonic() + 20  # and its worker ends with it (SIGTERM, SIGKILL after KillWait)
    while Path(f"/proc/{native['worker']}").exists():
        assert time.monotonic() < deadline, "the native task's Dask worker outlived its SLURM job"
        time.sleep(0.2)


def test_a_native_scheduler_no_source_is_named_after_fails_to_start(platform: Platform) -> None:
    job = platform.submit(Workflow(name="lsf-probe", tasks=[task("T", NATIVE_SCHEDULER="LSF")]))
    assert not platform.wait(job, timeout=30).is_alive
    (reported,) = platform.report(job)["tasks"]
    assert "NATIVE_SCHEDULER 'lsf': no node source takes its tasks (native schedulers here: slurm)" in str(
        reported["error"]
    )


def test_a_native_task_killed_ends_its_slurm_job(platform: Platform, tmp_path: Path) -> None:
    started = tmp_path / "started"
    sleeper = Task(
        name="sleeper",
        executable=ScriptExecutable(Script("bash", code=f"touch {started}; sleep 60")),
        generic_information={"NATIVE_SCHEDULER": "slurm", "NATIVE_SCHEDULER_PARAMS": "-J runyard-killed"},
    )
    job = platform.submit(Workflow(name="native-kill", tasks=[sleeper]))
    deadline = time.monotonic() + 60
    while not started.exists():
        assert time.monotonic() < deadline, "the native task did not start in its SLURM job"
        time.sleep(0.2)
    platform.kill_task(job, "sleeper")
    assert not platform.wait(job, timeout=60).is_alive
    (reported,) = platform.report(job)["tasks"]
    assert reported["status"] == "ABORTED", reported
    deadline = time.monotonic() + 30  # the kill is the scheduler's at once; the job's cancel follows
    while _queued("runyard-killed", "PENDING,RUNNING"):
        assert time.monotonic() < deadline, "the killed task's SLURM job still runs"
        time.sleep(0.2)


def _queued(name: str, states: str) -> bool:
    command = ["squeue", "-h", "-n", name, "-t", states, "-o", "%i"]
    return bool(subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip())


def test_the_pool_grows_while_its_nodes_are_busy_and_shrinks_once_idle(
    platform: Platform, tmp_path: Path
) -> None:
    signal = tmp_path / "signal"
    holder = f"for i in $(seq 300); do [ -f {signal} ] && exit 0; sleep 0.2; done; exit 1"
    tasks = (
        run(  # the signaller can only run on a node of the job submitted because the holder took the first
            platform,
            Task(name="holder", executable=ScriptExecutable(Script("bash", code=holder))),
            Task(name="signaller", executable=ScriptExecutable(Script("bash", code=f"touch {signal}"))),
        )
    )
    assert tasks["holder"]["node"] != tasks["signaller"]["node"]
    deadline = time.monotonic() + 30
    while len(_pool_jobs()) > 1:
        assert time.monotonic() < deadline, f"the pool kept {_pool_jobs()} after idle_release"
        time.sleep(0.2)


def _pool_jobs() -> list[str]:
    command = ["squeue", "-h", "-n", "runyard-pool", "-t", "PENDING,RUNNING", "-o", "%i"]
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout.split()
