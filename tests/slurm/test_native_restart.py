"""The runyard server killed -9 while ``NATIVE_SCHEDULER`` tasks run in their SLURM jobs: the jobs go on, and
the restarted server adopts the executions (not run again), each outcome reported once, that of a task that
ended while the server was away included (its job's worker held it). A job that ended while the server was
away took its outcome with it: the task is lost with its node and runs again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from engine.helpers import python_task
from runyard.client import Client
from runyard.model import Task, Workflow
from support.restarts import noting_code, until_exists
from support.server import ADMIN, PASSWORD, create_admin
from support.server_process import free_port, server_process

CONFIG = """
[[node_sources]]
name = "slurm"
type = "slurm"
min_jobs = 0
max_jobs = 0
native_slots = 2
memory = "512MiB"
walltime = "00:10:00"
interface = "lo"
"""


def native(name: str, shared: Path) -> Task:
    """A task in a SLURM job named ``name`` that notes each of its runs, then waits for its ``go`` file."""
    code = noting_code(name, shared, "os.environ['SLURM_JOB_ID']")
    params = {"NATIVE_SCHEDULER": "SLURM", "NATIVE_SCHEDULER_PARAMS": f"-J {name}"}
    return python_task(name, code, generic_information=params)


def job_ids(name: str, states: str = "PENDING,RUNNING") -> list[str]:
    command = ["squeue", "-h", "-n", name, "-t", states, "-o", "%i"]
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout.split()


def killed_while_running(data: Path, port: int, config: Path, workflow: Workflow, *started: Path) -> int:
    """Start a server, submit ``workflow``, kill the server -9 once ``started`` exist; the job's id."""
    with server_process(data, port, "--config", str(config)) as server:
        with Client(f"http://127.0.0.1:{port}") as client:
            client.login(ADMIN, PASSWORD)
            job_id = client.submit(workflow)
        until_exists(*started)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    return job_id


@pytest.fixture
def server_data(slurm_conf: Path, tmp_path: Path) -> tuple[Path, int, Path]:
    config = tmp_path / "server.toml"
    config.write_text(CONFIG)
    data = tmp_path / "data"
    data.mkdir()
    create_admin(data, None)
    return data, free_port(), config


@pytest.mark.timeout(300)  # two server starts and three SLURM jobs
def test_native_tasks_outlive_a_killed_server_and_are_adopted_not_run_again(
    server_data: tuple[Path, int, Path], shared: Path
) -> None:
    data, port, config = server_data
    workflow = Workflow(
        name="outlives", tasks=[native("runyard-away", shared), native("runyard-back", shared)]
    )
    job_id = killed_while_running(
        data, port, config, workflow, shared / "runyard-away", shared / "runyard-back"
    )
    jobs = {name: job_ids(name) for name in ("runyard-away", "runyard-back")}
    assert all(len(ids) == 1 for ids in jobs.values()), jobs  # the jobs outlived the server
    (shared / "runyard-away.go").touch()  # it ends while the server is away: its outcome waits in its job
    time.sleep(1)
    with server_process(data, port, "--config", str(config)), Client(f"http://127.0.0.1:{port}") as client:
        client.login(ADMIN, PASSWORD)
        (shared / "runyard-back.go").touch()  # it ends after the restart, adopted
        job = client.wait_for_job(job_id, 120)
        output = client.get_job_output(job_id)
    assert job["status"] == "FINISHED", job
    tasks = {task["name"]: task for task in job["tasks"]}
    for name, ids in jobs.items():
        assert (tasks[name]["executions"], tasks[name]["result"]) == (1, ids[0]), tasks[name]
        assert (shared / name).read_text() == "run\n"  # it ran once
        assert output.count(f"started {name}") == output.count(f"ended {name}") == 1, output
    deadline = time.monotonic() + 30  # the adopting server cancelled them once done
    while any(job_ids(name) for name in jobs):
        assert time.monotonic() < deadline, "the adopted tasks' SLURM jobs outlived them"
        time.sleep(0.2)


@pytest.mark.timeout(300)
def test_a_native_task_whose_job_ended_while_the_server_was_away_runs_again(
    server_data: tuple[Path, int, Path], shared: Path
) -> None:
    data, port, config = server_data
    workflow = Workflow(name="lost", tasks=[native("runyard-lost", shared)])
    job_id = killed_while_running(data, port, config, workflow, shared / "runyard-lost")
    (first,) = job_ids("runyard-lost")
    subprocess.run(["scancel", first], check=True)  # its outcome, had it one, is gone with its worker
    deadline = time.monotonic() + 30
    while job_ids("runyard-lost", "PENDING,RUNNING,COMPLETING"):  # ended, its processes too
        assert time.monotonic() < deadline, "the cancelled job did not end"
        time.sleep(0.1)
    (shared / "runyard-lost.go").touch()
    with server_process(data, port, "--config", str(config)), Client(f"http://127.0.0.1:{port}") as client:
        client.login(ADMIN, PASSWORD)
        job = client.wait_for_job(job_id, 120)
    assert job["status"] == "FINISHED", job
    (task,) = job["tasks"]
    assert task["executions"] == 2 and task["result"] != first, task  # in a job of its own again
    assert (shared / "runyard-lost").read_text() == "run\nrun\n"
