"""The runyard server killed -9 while tasks run on Dask-hosted nodes: after its restart the executions
are adopted, not run again; one that ended while the server was away reports its outcome then."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from dask_nodes.conftest import Cluster
from dask_nodes.test_hosts import on_host
from engine.helpers import python_task
from runyard.client import Client
from runyard.model import Workflow
from support.restarts import noting_code
from support.server import ADMIN, PASSWORD, create_admin
from support.server_process import free_port, server_process


def waiting_task(name: str, shared: Path, host: str) -> str:
    """A task that notes each of its runs, then waits for its ``go`` file."""
    return noting_code(name, shared, repr(host))


def wait_for_nodes(client: Client, count: int, timeout: float = 120) -> None:
    """Until ``count`` nodes are up (each Dask worker's node agents start with the source)."""
    deadline = time.monotonic() + timeout
    while len([node for node in client.list_nodes() if node["state"] != "down"]) < count:
        assert time.monotonic() < deadline, client.list_nodes()
        time.sleep(0.1)


@pytest.mark.timeout(300)  # two server starts: ~4 s each on an idle machine, far more on a loaded one
def test_tasks_outlive_a_killed_server_and_are_adopted_not_run_again(
    cluster: Cluster, tmp_path: Path, shared: Path
) -> None:
    remote, main = cluster.host.address, cluster.host.host_address
    config = tmp_path / "server.toml"
    config.write_text(f'[[node_sources]]\nname = "dask"\ntype = "dask"\nscheduler = "{cluster.address}"\n')
    data, port = tmp_path / "data", free_port()
    data.mkdir()
    create_admin(data, None)
    url = f"http://127.0.0.1:{port}"
    workflow = Workflow(
        name="outlives",
        tasks=[
            python_task("away", waiting_task("away", shared, remote), selection=on_host(remote)),
            python_task("back", waiting_task("back", shared, main), selection=on_host(main)),
            # the job's second execution on a node: its sandbox is the job's, made for the first
            python_task("after", "result = results[0].value()", "away", "back", selection=on_host(remote)),
        ],
    )
    with server_process(data, port, "--config", str(config)) as server:
        with Client(url) as client:
            client.login(ADMIN, PASSWORD)
            wait_for_nodes(client, 2)
            job_id = client.submit(workflow)
        deadline = time.monotonic() + 120
        while not ((shared / "away").exists() and (shared / "back").exists()):
            assert time.monotonic() < deadline, "the tasks did not start"
            time.sleep(0.05)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    (shared / "away.go").touch()  # it ends while the server is away: its outcome waits on its worker
    time.sleep(1)
    with server_process(data, port, "--config", str(config)), Client(url) as client:
        client.login(ADMIN, PASSWORD)
        (shared / "back.go").touch()  # it ends after the restart, adopted
        job = client.wait_for_job(job_id, 120)
        output = client.get_job_output(job_id)
    assert job["status"] == "FINISHED", job
    tasks = {task["name"]: task for task in job["tasks"]}
    assert [tasks[name]["executions"] for name in ("away", "back")] == [1, 1]
    assert (tasks["away"]["result"], tasks["back"]["result"], tasks["after"]["result"]) == (
        remote,
        main,
        remote,
    )
    assert (shared / "away").read_text() == (shared / "back").read_text() == "run\n"  # each ran once
    for line in ("started away", "ended away", "started back", "ended back"):
        assert output.count(line) == 1, output
