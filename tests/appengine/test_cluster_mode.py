"""Runs in cluster mode: the node fetches ``inputs.zip`` with its job token, unpacks it into its
localspace, mounts it, and sends the output folder back zipped to the run's secret URL.

On this host's nodes (identity runs, the addition bundle, a hostile link the runner must not follow:
the runner runs as root on the node), then on a second host (a network namespace with a Dask worker,
as tests/dask_nodes start one) whose engine lacks the task's image: the runner downloads the image tar.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from distributed import Client

from appengine.helpers import app_engine, docker_host
from appengine.test_execution import (
    built_task,
    corpus_task,
    datasets,
    new_task,
    run_of,
    started_run,
    wait_state,
)
from support.netns import Host, second_host
from support.server import ADMIN, PASSWORD, LiveServer, create_admin, live_server
from support.server_process import free_port, server_process

__all__ = ["datasets", "docker_host"]

DASK = str(Path(sys.executable).parent / "dask")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, docker_host: str, datasets: Path
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("server")
    with live_server(folder, app_engine_run_mode="cluster", app_engine_datasets=datasets) as started:
        yield started


@pytest.fixture(scope="module")
def user(server: LiveServer) -> tuple[str, str]:
    return server.new_user(prefix="ae-cluster")


@pytest.mark.parametrize(
    ("bundle", "value"),
    [
        ("com.cytomine.dummy.identity.string-1.0.0", "my value"),
        ("com.cytomine.dummy.identity.integer.collection-0.1.0", [0, 7, 299]),
        ("com.cytomine.dummy.identity.file-1.0.0", bytes(range(256)) * 8),
    ],
)
def test_an_identity_run_finishes_through_the_archives(
    server: LiveServer, user: tuple[str, str], bundle: str, value: Any
) -> None:
    _, token = user
    run = started_run(server, token, corpus_task(server, bundle), {"input": value})
    final = wait_state(server, token, run, ("FINISHED", "FAILED"))
    assert final["state"] == "FINISHED", run_of(server, run)
    assert run_of(server, run)["mode"] == "cluster"
    with app_engine(server, token) as client:
        if isinstance(value, bytes):
            assert client.get(f"/task-runs/{run}/output/output").content == value
        else:
            got = client.get(f"/task-runs/{run}/outputs").json()[0]["value"]
            if isinstance(value, list):
                got = [item["value"] for item in sorted(got, key=lambda item: item["index"])]
            assert got == value


def test_the_addition_bundle_fails_naming_its_unknown_output(
    server: LiveServer, user: tuple[str, str]
) -> None:
    _, token = user
    task = corpus_task(server, "com.cytomine.dummy.arithmetic.integer.addition-1.0.0")
    run = started_run(server, token, task, {"a": 2, "b": 3})
    assert wait_state(server, token, run, ("FINISHED", "FAILED"))["state"] == "FAILED"
    assert "unknown output 'sum'" in (run_of(server, run)["reason"] or "")  # the script writes sum


def test_a_hostile_link_is_not_followed_by_the_runner(server: LiveServer, user: tuple[str, str]) -> None:
    """The runner (root, on the node) zips the output folder: a link to the node's ``/etc/passwd`` is
    left out, never read, so the output is missing and the run FAILS with nothing leaked."""
    _, token = user
    run = started_run(server, token, built_task(server, "ln -s /etc/passwd /outputs/output"), {"input": "x"})
    assert wait_state(server, token, run, ("FINISHED", "FAILED"))["state"] == "FAILED"
    stored = run_of(server, run)
    assert "output" in (stored["reason"] or "")
    first_line = Path("/etc/passwd").read_text().splitlines()[0]
    assert first_line not in str(stored)
    outputs = Path(server.data_dir / "app-engine" / f"task-run-outputs-{run}")
    assert not (outputs / "output").exists()


def test_an_image_running_as_another_user_writes_its_outputs(
    server: LiveServer, user: tuple[str, str]
) -> None:
    _, token = user
    run = started_run(
        server, token, new_task(server, "id -u > /outputs/output", user="65534"), {"input": "x"}
    )
    final = wait_state(server, token, run, ("FINISHED", "FAILED"))
    assert final["state"] == "FINISHED", run_of(server, run)["reason"]
    assert run_of(server, run)["outputs"] == {"output": "65534"}


def test_the_outputs_upload_needs_the_run_secret_and_a_running_run(
    server: LiveServer, user: tuple[str, str]
) -> None:
    _, token = user
    task = corpus_task(server, "com.cytomine.dummy.identity.string-1.0.0")
    run = started_run(server, token, task, {"input": "done"})
    wait_state(server, token, run, ("FINISHED", "FAILED"))
    secret = run_of(server, run)["secret"]
    with httpx.Client(base_url=f"{server.url}/app-engine/v1") as anonymous:
        wrong = anonymous.post(f"/task-runs/{run}/{secret[:-1]}x/outputs.zip", files={"outputs": b"PK"})
        late = anonymous.post(f"/task-runs/{run}/{secret}/outputs.zip", files={"outputs": b"PK"})
    assert wrong.status_code == 403
    assert wrong.json()["errorCode"] == "APPE-scheduler-unauthenticated-output-provisioning"
    assert late.status_code == 403  # the run has ended: its outputs are final
    assert run_of(server, run)["outputs"] == {"output": "done"}


# -- a second host -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory, docker_host: str) -> Iterator[tuple[Host, str]]:
    """A Dask scheduler and one worker ``remote`` in a network namespace (a second host); its address."""
    folder = tmp_path_factory.mktemp("dask")
    with second_host("ryae") as host:
        address = f"tcp://{host.address}:8786"
        processes: list[subprocess.Popen[bytes]] = []
        with open(folder / "dask.log", "ab") as log:
            scheduler = [DASK, "scheduler", "--host", host.address, "--port", "8786", "--no-dashboard"]
            processes.append(host.popen(scheduler, stdout=log, stderr=log, start_new_session=True))
            worker = [
                DASK, "worker", address, "--name", "remote", "--host", host.address, "--nthreads", "2",
                "--no-nanny", "--local-directory", str(folder / "remote"),
            ]  # fmt: skip
            processes.append(host.popen(worker, stdout=log, stderr=log, start_new_session=True))
        try:
            with Client(address, timeout=60) as client:  # type: ignore[no-untyped-call]
                deadline = time.monotonic() + 60
                while not client.scheduler_info()["workers"]:
                    assert time.monotonic() < deadline, f"no Dask worker; see {folder}/dask.log"
                    time.sleep(0.1)
            yield host, address
        finally:
            for process in processes:
                process.kill()
                process.wait()


@pytest.mark.timeout(300)
def test_a_run_on_a_second_host_loads_the_image_and_sends_its_outputs(
    tmp_path: Path, remote: tuple[Host, str]
) -> None:
    host, scheduler = remote
    port = free_port()
    config = tmp_path / "server.toml"
    config.write_text(
        f'host = "0.0.0.0"\npublic_url = "http://{host.host_address}:{port}"\n'
        f'app_engine_run_mode = "cluster"\n'
        f'[[node_sources]]\nname = "dask"\ntype = "dask"\nscheduler = "{scheduler}"\n'
    )
    data = tmp_path / "data"
    data.mkdir()
    create_admin(data, None)
    with server_process(data, port, "--config", str(config)):
        url = f"http://127.0.0.1:{port}"
        token = httpx.post(f"{url}/api/v1/sessions", json={"username": ADMIN, "password": PASSWORD}).json()[
            "token"
        ]
        server = LiveServer(url, data, None, token)
        task = new_task(server, "cp /inputs/input /outputs/output")
        engine = docker.from_env()
        try:  # the image is unique to this task: gone from the engine, the runner must load it
            image_id = run_id_image(server, task["id"])
            engine.images.remove(image_id, force=True)
        finally:
            engine.close()
        run = started_run(server, token, task, {"input": "from afar"})
        final = wait_state(server, token, run, ("FINISHED", "FAILED"), timeout=180)
        stored = run_of(server, run)
        assert final["state"] == "FINISHED", stored["reason"]
        assert stored["outputs"] == {"output": "from afar"}
        with server.client(token) as client:
            job = client.get(f"/jobs/{stored['job_id']}").json()
        assert job["tasks"][0]["node"].startswith("dask-remote")
        with app_engine(server, token) as client:
            logs = client.get(f"/task-runs/{run}/logs").text
        assert "not on this node's engine: loading it" in logs


def run_id_image(server: LiveServer, task_id: str) -> str:
    """The engine's id of a task's image, as the platform records it."""
    from runyard.store.database import connect
    from runyard.store.schema import app_engine_tasks

    engine = connect(f"sqlite:///{server.data_dir / 'runyard.db'}")
    try:
        with engine.connect() as connection:
            found = (
                connection.execute(app_engine_tasks.select().where(app_engine_tasks.c.id == task_id))
                .mappings()
                .first()
            )
    finally:
        engine.dispose()
    assert found is not None
    return str(found["image_id"])


def _files_in(document: dict[str, Any]) -> None:
    document["inputs"]["input"]["type"] = {"id": "array", "subtype": "file", "min_size": 1, "max_size": 5}


def test_dataset_references_travel_as_files_in_the_inputs_archive(
    server: LiveServer, user: tuple[str, str], datasets: Path
) -> None:
    """The node has no datasets folder: the files an array references come in ``inputs.zip``, with the
    array's ``array.yml``."""
    _, token = user
    script = "cat /inputs/input/0 /inputs/input/1 /inputs/input/array.yml > /outputs/output"
    task = new_task(server, script, _files_in)
    run = started_run(server, token, task, {"input": [str(datasets / "a.txt"), str(datasets / "b.txt")]})
    final = wait_state(server, token, run, ("FINISHED", "FAILED"))
    assert final["state"] == "FINISHED", run_of(server, run)
    assert run_of(server, run)["outputs"] == {"output": "alphabetasize: 2"}


def test_a_dataset_file_turned_into_a_link_after_provisioning_is_not_sent(
    server: LiveServer, user: tuple[str, str], datasets: Path
) -> None:
    """A reference is sent as the regular file it was when provisioned: a link put in its place since
    (to a secret of the server's host) fails the run, and nothing of what it points to leaves."""
    _, token = user
    task = new_task(server, "cat /inputs/input/0 > /outputs/output", _files_in)
    secret = datasets.parent / "server-secret.txt"
    secret.write_text("the host's secret")
    target = datasets / "c.txt"
    run = started_run(
        server, token, task, {"input": [str(target)]}, before_start=lambda _: _swap_for_link(target, secret)
    )
    final = wait_state(server, token, run, ("FINISHED", "FAILED"))
    assert final["state"] == "FAILED", run_of(server, run)
    assert "changed since it was provisioned" in (run_of(server, run)["reason"] or "")
    assert "secret" not in json.dumps(run_of(server, run)["outputs"])


def _swap_for_link(path: Path, target: Path) -> None:
    path.unlink()
    path.symlink_to(target)
