"""A ``dask`` node source added at run time by an admin: a real Dask scheduler and worker on loopback host
its nodes, a job runs there, and removing the source takes its nodes away."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client as DaskClient

from client.helpers import script_task
from node_sources.test_runtime import sources
from runyard.client import Client, Workflow
from support.server_process import free_port

DASK = str(Path(sys.executable).parent / "dask")


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a Dask scheduler with one worker, both on loopback."""
    folder = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    commands = [
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
        [
            DASK,
            "worker",
            address,
            "--name",
            "w",
            "--nthreads",
            "1",
            "--no-nanny",
            "--local-directory",
            str(folder),
        ],
    ]
    with open(folder / "dask.log", "ab") as log:
        processes = [
            subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True) for argv in commands
        ]
    try:
        with DaskClient(address, timeout=60) as client:  # type: ignore[no-untyped-call]
            deadline = time.monotonic() + 60
            while not client.scheduler_info()["workers"]:
                assert time.monotonic() < deadline, f"no Dask worker; see {folder}/dask.log"
                time.sleep(0.1)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)


def test_an_admin_adds_a_dask_source_a_job_runs_on_it_then_it_is_removed(
    scheduler: str, admin: Client, alice: Client
) -> None:
    added = admin.add_node_source("cluster", "dask", {"scheduler": scheduler})
    assert (added["type"], added["origin"], added["state"]) == ("dask", "runtime", "DEPLOYED")
    deadline = time.monotonic() + 60
    while not (hosted := [n["name"] for n in admin.list_nodes() if n["source"] == "cluster"]):
        assert time.monotonic() < deadline, "the Dask worker hosts no node"
        time.sleep(0.1)
    assert all(name.startswith("cluster-") for name in hosted)
    for node in ("alpha-1", "beta-1"):  # the job can only run on the Dask-hosted node
        admin.lock_node(node)
    try:
        job_id = alice.submit(Workflow("on-dask", tasks=[script_task("Where", "bash", "echo $PA_NODE_NAME")]))
        job = alice.wait_for_job(job_id, timeout=60)
    finally:
        for node in ("alpha-1", "beta-1"):
            admin.unlock_node(node)
    assert job["status"] == "FINISHED", job
    assert job["tasks"][0]["node"] in hosted
    admin.remove_node_source("cluster")
    assert "cluster" not in sources(admin)
    assert all(n["source"] != "cluster" for n in admin.list_nodes())
