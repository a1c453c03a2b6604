"""The pool of a ``slurm`` source outlives its server: its Dask scheduler (a process of its own) and worker
jobs go on when the server is killed -9, and the restarted server adopts what they run (not run again,
each outcome once, that of a task that ended while it was away included). A source removed ends its
scheduler and jobs; a pool whose scheduler died is replaced by a new one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.helpers import python_task
from runyard.client import Client
from runyard.model import JobStatus, Task, Workflow
from runyard.nodes.slurm_pool import end_pool
from runyard.platform import Platform
from runyard.settings import NodeSourceConfig, Settings
from support.restarts import noting_code
from support.server import ADMIN, PASSWORD, create_admin
from support.server_process import free_port, server_process

OPTIONS = {"min_jobs": 1, "max_jobs": 1, "nodes_per_worker": 2, "native_slots": 0, "memory": "512MiB"}
CONFIG = """
[[node_sources]]
name = "pool"
type = "slurm"
min_jobs = 1
max_jobs = 1
nodes_per_worker = 2
native_slots = 0
memory = "512MiB"
walltime = "00:10:00"
interface = "lo"
"""


@pytest.fixture
def server_data(slurm_conf: Path, tmp_path: Path) -> Iterator[tuple[Path, int, Path]]:
    config = tmp_path / "server.toml"
    config.write_text(CONFIG)
    data = tmp_path / "data"
    data.mkdir()
    create_admin(data, None)
    try:
        yield data, free_port(), config
    finally:  # no server comes back for the pool these tests leave
        end_pool(data / "nodes" / "pool")


def pooled(name: str, shared: Path) -> Task:
    """A task that notes each of its runs, then waits for its ``go`` file; its result: its SLURM job."""
    code = noting_code(name, shared, "os.environ['SLURM_JOB_ID']")
    return python_task(name, code)


def pool_jobs(folder: Path, *known: str) -> list[str]:
    """The jobs of the pool recorded in ``folder`` (and ``known`` ones) that ``squeue`` still has."""
    try:
        recorded = json.loads((folder / "pool" / "jobs.json").read_text())["jobs"].values()
    except FileNotFoundError:
        recorded = []
    wanted = {job for job in (*recorded, *known) if job}
    command = ["squeue", "-h", "-n", "runyard-pool", "-t", "PENDING,RUNNING", "-o", "%i"]
    queued = subprocess.run(command, capture_output=True, text=True, check=False).stdout.split()
    return [job for job in queued if job in wanted]


def scheduler_pid(data: Path) -> int:
    return int((data / "nodes" / "pool" / "pool" / "scheduler.pid").read_text())


def alive(pid: int) -> bool:
    try:
        return b"serve_pool_scheduler" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def until(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def killed_while_running(data: Path, port: int, config: Path, workflow: Workflow, *started: Path) -> int:
    """Start a server, submit ``workflow``, kill the server -9 once ``started`` exist; the job's id."""
    with server_process(data, port, "--config", str(config)) as server:
        with Client(f"http://127.0.0.1:{port}") as client:
            client.login(ADMIN, PASSWORD)
            job_id = client.submit(workflow)
        until(lambda: all(path.exists() for path in started), "the pool tasks did not start", 120)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    return job_id


@pytest.mark.timeout(300)
def test_pool_tasks_outlive_a_killed_server_and_are_adopted_not_run_again(
    server_data: tuple[Path, int, Path], shared: Path
) -> None:
    data, port, config = server_data
    workflow = Workflow(name="outlives", tasks=[pooled("away", shared), pooled("back", shared)])
    job_id = killed_while_running(data, port, config, workflow, shared / "away", shared / "back")
    folder = data / "nodes" / "pool"
    (job,) = pool_jobs(folder)  # the pool's job and scheduler outlived the server
    pid = scheduler_pid(data)
    assert alive(pid)
    (shared / "away.go").touch()  # it ends while the server is away: its outcome waits on its worker
    time.sleep(1)
    restarted = time.monotonic()
    with server_process(data, port, "--config", str(config)), Client(f"http://127.0.0.1:{port}") as client:
        answering = time.monotonic() - restarted
        client.login(ADMIN, PASSWORD)
        until(lambda: _status(client, job_id, "away") == "FINISHED", "not adopted", 120)
        adopted = time.monotonic() - restarted
        (shared / "back.go").touch()  # it ends after the restart, adopted
        done = client.wait_for_job(job_id, 120)
        output = client.get_job_output(job_id)
        assert pool_jobs(folder) == [job] and scheduler_pid(data) == pid  # the same pool, found again
    print(f"restart to answering: {answering:.2f} s, to the outcome held while away: {adopted:.2f} s")
    assert done["status"] == "FINISHED", done
    for task in done["tasks"]:
        assert (task["executions"], task["result"]) == (1, job), task
        assert (shared / task["name"]).read_text() == "run\n"  # it ran once
        assert output.count(f"started {task['name']}") == output.count(f"ended {task['name']}") == 1, output


@pytest.mark.timeout(300)
def test_a_pool_whose_scheduler_died_is_started_anew(server_data: tuple[Path, int, Path]) -> None:
    data, port, config = server_data
    folder = data / "nodes" / "pool"
    with server_process(data, port, "--config", str(config)) as server:
        until(lambda: bool(pool_jobs(folder)), "no pool job")
        (old_job,) = pool_jobs(folder)
        old_pid = scheduler_pid(data)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    os.kill(old_pid, signal.SIGKILL)  # the stale record names a dead scheduler
    until(lambda: not alive(old_pid), "the scheduler outlived SIGKILL")
    with server_process(data, port, "--config", str(config)), Client(f"http://127.0.0.1:{port}") as client:
        client.login(ADMIN, PASSWORD)
        done = client.wait_for_job(
            client.submit(Workflow(name="anew", tasks=[python_task("T", "result = 1")])), 120
        )
        assert done["status"] == "FINISHED", done
        new_pid = scheduler_pid(data)
        assert new_pid != old_pid and alive(new_pid)
        (new_job,) = pool_jobs(folder, old_job)
        assert new_job != old_job  # the old job was cancelled with its dead scheduler's pool


def test_a_pool_task_across_a_platform_stop_is_adopted(
    slurm_conf: Path, tmp_path: Path, shared: Path
) -> None:
    """A platform stopped (not killed) leaves its pool running: the next one adopts what runs there."""
    source = NodeSourceConfig("pool", "slurm", {**OPTIONS, "interface": "lo", "walltime": "00:10:00"})
    settings = Settings(data_dir=tmp_path / "data", node_sources=(source,))
    folder = settings.data_dir / "nodes" / "pool"
    try:
        with Platform(settings) as first:
            job = first.submit(Workflow(name="across", tasks=[pooled("across", shared)]))
            until(lambda: (shared / "across").exists(), "the pool task did not start", 90)
            (kept,) = pool_jobs(folder)
        assert pool_jobs(folder) == [kept]
        with Platform(settings) as second:
            (shared / "across.go").touch()
            assert second.wait(job, timeout=60) is JobStatus.FINISHED, second.report(job)
            (task,) = second.report(job)["tasks"]
            assert (task["executions"], task["result"]) == (1, kept), task
            assert (shared / "across").read_text() == "run\n"  # it ran once
    finally:
        end_pool(folder)


def test_an_ended_job_is_replaced_and_a_removed_source_ends_its_pool(
    slurm_conf: Path, tmp_path: Path
) -> None:
    nothing = NodeSourceConfig("none", "slurm", {"min_jobs": 0, "max_jobs": 0, "native_slots": 0})
    settings = Settings(data_dir=tmp_path / "data", node_sources=(nothing,))  # no node but the pool's
    folder = settings.data_dir / "nodes" / "pool"
    options = {**OPTIONS, "interface": "lo", "walltime": "00:10:00"}
    try:
        with Platform(settings) as platform:
            platform.add_node_source("pool", "slurm", options, by="admin")  # at run time
            job = platform.submit(Workflow(name="pooled", tasks=[python_task("T", "result = 1")]))
            assert platform.wait(job, timeout=90) is JobStatus.FINISHED, platform.report(job)
            (first,) = pool_jobs(folder)
            subprocess.run(["scancel", first], check=True)  # a job that ends is replaced
            until(lambda: pool_jobs(folder, first) not in ([], [first]), "the ended job was not replaced", 60)
            job = platform.submit(Workflow(name="replaced", tasks=[python_task("T", "result = 1")]))
            assert platform.wait(job, timeout=90) is JobStatus.FINISHED, platform.report(job)
            jobs = pool_jobs(folder, first)
            assert first not in jobs and len(jobs) == 1, jobs
            pid = scheduler_pid(settings.data_dir)
            platform.remove_node_source("pool")
            assert pool_jobs(folder, *jobs) == []
            assert not alive(pid)
            assert not (folder / "pool" / "scheduler.pid").exists()
    finally:
        end_pool(folder)


def _status(client: Client, job_id: int, name: str) -> str:
    return str({task["name"]: task["status"] for task in client.get_job(job_id)["tasks"]}[name])
