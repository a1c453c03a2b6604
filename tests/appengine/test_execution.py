"""Runs executed as runyard jobs on a real dockerd, local mode (the container mounts the run's folders).

A few containers, about a second each: identity bundles give their input back, the addition bundle
FAILS naming its missing output ``out``, a killed job leaves the run FAILED and no container, a hostile
image's symbolic link to ``/etc/passwd`` is refused, what the container sees from inside (no network,
no capability, read-only inputs), dataset references read through links, a user's job dressed as a
run's (the generic information copied) gets neither the runner's routes nor the container engine, a
run survives its server killed -9, and the same life on PostgreSQL.
"""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import docker
import httpx
import pytest
import yaml

from appengine.helpers import app_engine, corpus_bundle, docker_host, renamed_bundle, upload
from runyard.appengine.execution import CONTAINER_LABEL, CONTAINER_PREFIX, find_run, move
from runyard.appengine.runs import detail_headers
from runyard.auth.job_tokens import JobTokens
from runyard.client import Client
from runyard.store.database import connect
from support.databases import fresh_postgres_database
from support.server import ADMIN, PASSWORD, LiveServer, bearer, create_admin, live_server, wait_for
from support.server_process import free_port, server_process

__all__ = ["docker_host"]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's datasets folder (``app_engine_datasets``), with three files."""
    folder = tmp_path_factory.mktemp("datasets")
    for name, text in (("a.txt", "alpha"), ("b.txt", "beta"), ("c.txt", "gamma")):
        (folder / name).write_text(text)
    return folder


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, docker_host: str, datasets: Path
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("server")
    limits = {"app_engine_max_ram": "64Gi"}
    with live_server(folder, app_engine_run_mode="local", app_engine_datasets=datasets, **limits) as started:
        yield started


@pytest.fixture(scope="module")
def user(server: LiveServer) -> tuple[str, str]:
    return server.new_user(prefix="ae-exec")


@pytest.mark.parametrize(
    ("bundle", "value"),
    [
        ("com.cytomine.dummy.identity.string-1.0.0", "my_value"),
        ("com.cytomine.dummy.identity.integer.collection-0.1.0", [4, 1, 300]),
        ("com.cytomine.dummy.identity.file-1.0.0", b"\x00\x01 some bytes \xff" * 40),
    ],
)
def test_an_identity_run_finishes_with_its_input_as_output(
    server: LiveServer, user: tuple[str, str], bundle: str, value: Any
) -> None:
    _, token = user
    task = corpus_task(server, bundle)
    run = started_run(server, token, task, {"input": value})
    final = wait_state(server, token, run, ("FINISHED", "FAILED"))
    assert final["state"] == "FINISHED", run_of(server, run)
    with app_engine(server, token) as client:
        if isinstance(value, bytes):
            answer = client.get(f"/task-runs/{run}/output/output")
            assert answer.status_code == 200, answer.text
            assert answer.content == value
        else:
            outputs = client.get(f"/task-runs/{run}/outputs").json()
            assert len(outputs) == 1 and outputs[0]["parameterName"] == "output"
            got = outputs[0]["value"]
            if isinstance(value, list):
                got = [item["value"] for item in sorted(got, key=lambda item: item["index"])]
            assert got == value
        logs = client.get(f"/task-runs/{run}/logs")
    assert logs.status_code == 200
    assert "exited with code 0" in logs.text
    assert container_of(run) is None


def test_a_container_left_by_an_earlier_execution_of_the_run_is_replaced(
    server: LiveServer, user: tuple[str, str]
) -> None:
    """The runner creates the run's container at once and removes one of the same name (a node lost
    before its runner could) only when the engine says the name is taken."""
    _, token = user
    task = corpus_task(server, "com.cytomine.dummy.identity.string-1.0.0")
    engine = docker.from_env()

    def leave_a_container(run: str) -> None:
        image = "com/cytomine/dummy/identity/string:1.0.0"  # the task's, by the descriptor rule
        engine.containers.create(image, name=f"{CONTAINER_PREFIX}{run}", labels={CONTAINER_LABEL: run})

    try:
        run = started_run(server, token, task, {"input": "again"}, before_start=leave_a_container)
        final = wait_state(server, token, run, ("FINISHED", "FAILED"))
        assert final["state"] == "FINISHED", run_of(server, run)
        assert run_of(server, run)["outputs"] == {"output": "again"}
        assert container_of(run) is None
    finally:
        engine.close()


_tasks: dict[tuple[str, str], dict[str, Any]] = {}


def corpus_task(server: LiveServer, bundle: str) -> dict[str, Any]:
    """The task of a corpus bundle, uploaded once per module (by the admin: tasks are everyone's)."""
    if (server.url, bundle) not in _tasks:
        with app_engine(server) as client:
            namespace, version = bundle.rsplit("-", 1)
            known = client.get(f"/tasks/{namespace}/{version}")
        _tasks[server.url, bundle] = (
            known.json()
            if known.status_code == 200
            else upload(server, server.admin_token, corpus_bundle(bundle))
        )
    return _tasks[server.url, bundle]


def test_the_addition_bundle_fails_naming_its_missing_output(
    server: LiveServer, user: tuple[str, str]
) -> None:
    """Its script writes ``sum`` where the descriptor declares ``out`` (corpus README): FAILED, not
    FINISHED with no outputs (upstream's quirk)."""
    _, token = user
    task = corpus_task(server, "com.cytomine.dummy.arithmetic.integer.addition-1.0.0")
    run = started_run(server, token, task, {"a": 18, "b": 24})
    final = wait_state(server, token, run, ("FINISHED", "FAILED"))
    assert final["state"] == "FAILED"
    stored = run_of(server, run)
    assert "output out:" in (stored["reason"] or ""), stored["reason"]
    with app_engine(server, token) as client:
        assert client.get(f"/task-runs/{run}/outputs").status_code == 403


def test_a_killed_job_fails_its_run_and_leaves_no_container(
    server: LiveServer, user: tuple[str, str]
) -> None:
    _, token = user
    task = slow_task(server)
    run = started_run(server, token, task, {"input": "x"})
    wait_state(server, token, run, ("RUNNING",))
    assert container_of(run) is not None
    with app_engine(server, token) as client, client.stream("GET", f"/task-runs/{run}/logs") as logs:
        first = next(logs.iter_text())  # served while the job runs (followed until it ends)
    assert "started" in first
    job_id = run_of(server, run)["job_id"]
    # The job token of this run's job (as its runner holds it) names this run only.
    other = started_run(
        server, token, corpus_task(server, "com.cytomine.dummy.identity.string-1.0.0"), {"input": "o"}
    )
    wait_state(server, token, other, ("FINISHED", "FAILED"))
    job_token = JobTokens.from_file(server.data_dir / "job-tokens.key").issue(
        job_id, run_of(server, run)["owner"]
    )
    with httpx.Client(base_url=f"{server.url}/app-engine/v1", headers=bearer(job_token)) as runner:
        assert runner.get(f"/task-runs/{run}/execution").status_code == 200
        assert runner.get(f"/task-runs/{other}/execution").status_code == 404
        assert runner.post(f"/task-runs/{other}/execution/finished", json={}).status_code == 404
        assert runner.get(f"/task-runs/{other}/execution/inputs.zip").status_code == 404
    with server.client(token) as client:
        assert client.post(f"/jobs/{job_id}/kill").status_code in (200, 204)
        wait_for(client, job_id)
    final = wait_state(server, token, run, ("FINISHED", "FAILED"))
    assert final["state"] == "FAILED"
    deadline = time.monotonic() + 20
    while container_of(run) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert container_of(run) is None


def test_a_hostile_output_link_is_refused(server: LiveServer, user: tuple[str, str]) -> None:
    """The container writes ``output`` as a symbolic link to the host's ``/etc/passwd`` (a path the
    server, root, could read): the run FAILS and the file's content is nowhere in what the run serves."""
    _, token = user
    task = built_task(server, "ln -s /etc/passwd /outputs/output")
    run = started_run(server, token, task, {"input": "x"})
    final = wait_state(server, token, run, ("FINISHED", "FAILED"))
    assert final["state"] == "FAILED"
    secret_line = Path("/etc/passwd").read_text().splitlines()[0]
    with app_engine(server, token) as client:
        for path in (
            f"/task-runs/{run}/outputs",
            f"/task-runs/{run}/output/output",
            f"/task-runs/{run}/outputs.zip",
        ):
            answer = client.get(path)
            assert secret_line not in answer.text
    assert secret_line not in str(run_of(server, run))


def matched_arrays(document: dict[str, Any]) -> None:
    """``input`` and ``output`` arrays of integers, the input matching the output (as integer.collection)."""
    array = {"id": "array", "subtype": "integer", "min_size": 1, "max_size": 5}
    document["inputs"]["input"].update(type=array, dependencies={"matching": ["outputs/output"]})
    document["outputs"]["output"]["type"] = dict(array)


def test_an_output_array_not_matching_its_input_fails_the_run(
    server: LiveServer, user: tuple[str, str]
) -> None:
    """The descriptor says the input and output arrays match: a container giving one item for two fails."""
    _, token = user
    script = "cd /outputs && mkdir output && printf 'size: 1' > output/array.yml && printf 7 > output/0"
    task = new_task(server, script, change=matched_arrays)
    run = started_run(server, token, task, {"input": [1, 2]})
    assert wait_state(server, token, run, ("FINISHED", "FAILED"))["state"] == "FAILED"
    final = run_of(server, run)
    assert "collections don't have the same size (inputs/input: 2, outputs/output: 1)" in str(final), final
    # what the owner reads of it: Cytomine's TaskRun as it is, runyard's job and the reason in headers
    with app_engine(server, token) as client:
        answer = client.get(f"/task-runs/{run}")
    assert set(answer.json()) == {"id", "task", "state", "createdAt", "updatedAt"}
    assert int(answer.headers["X-Runyard-Job-Id"]) == final["job_id"]
    with Client(server.url, token) as sdk:
        read = sdk.get_app_run(run)
    assert (read["jobId"], read["reason"]) == (final["job_id"], final["reason"])


def test_a_reason_is_sent_as_one_header_line_whatever_it_holds() -> None:
    """A reason may quote a task's output: percent-encoded, it cannot end the header or add one."""
    reason = "output 'x' is invalid: ééé\r\nSet-Cookie: session=stolen\n" + "y" * 5000
    headers = detail_headers({"job_id": 7, "reason": reason})
    assert headers["X-Runyard-Job-Id"] == "7"
    sent = headers["X-Runyard-Reason"]
    assert sent.isascii() and "\r" not in sent and "\n" not in sent and len(sent) < 3 * 2000
    assert unquote(sent) == reason[:2000]
    assert detail_headers({"job_id": None, "reason": None}) == {}


def test_a_task_asking_more_memory_than_the_server_gives_is_refused_at_its_start(
    server: LiveServer, user: tuple[str, str]
) -> None:
    """``app_engine_max_ram`` (64Gi here): a run of a task asking 128Gi gets a 400 naming the setting and
    stays PROVISIONED, with no job; the identity runs above (1Gi) went on."""

    def greedy(document: dict[str, Any]) -> None:
        document.setdefault("configuration", {})["resources"] = {"ram": "128Gi"}

    _, token = user
    bundle, _ = renamed_bundle("com.cytomine.dummy.identity.string-1.0.0", change=greedy)
    task = upload(server, server.admin_token, bundle)
    with app_engine(server, token) as client:
        run = client.post(f"/tasks/{task['id']}/runs").json()["id"]
        given = {"parameterName": "input", "value": "x"}
        assert client.put(f"/task-runs/{run}/input-provisions/input", json=given).status_code == 200
        refused = client.post(f"/task-runs/{run}/state-actions", json={"desired": "RUNNING"})
        assert refused.status_code == 400, refused.text
        assert refused.json()["errorCode"] == "APPE-runyard-resources-refused"
        assert "137438953472 bytes" in refused.json()["message"]
        assert "app_engine_max_ram" in refused.json()["message"]
        assert client.get(f"/task-runs/{run}").json()["state"] == "PROVISIONED"
    assert run_of(server, run)["job_id"] is None


def test_the_container_has_no_network_no_capability_and_read_only_inputs(
    server: LiveServer, user: tuple[str, str]
) -> None:
    """What the task's code sees from inside: the loopback alone, no effective capability, the
    ``no_new_privs`` flag, its inputs read-only, its memory and process limits."""
    _, token = user
    script = (
        "{ ls /sys/class/net; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; "
        "(echo changed > /inputs/input) 2>/dev/null && echo inputs-written || echo inputs-read-only; "
        "cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max 2>/dev/null; true; } > /outputs/output"
    )
    run = started_run(server, token, built_task(server, script), {"input": "kept"})
    final = wait_state(server, token, run, ("FINISHED", "FAILED"))
    assert final["state"] == "FINISHED", run_of(server, run)["reason"]
    seen = run_of(server, run)["outputs"]["output"].split()
    assert seen[0] == "lo" and "eth0" not in seen
    assert seen[seen.index("CapEff:") + 1] == "0000000000000000"
    assert seen[seen.index("NoNewPrivs:") + 1] == "1"
    assert "inputs-read-only" in seen
    if len(seen) > seen.index("inputs-read-only") + 1:  # cgroup v2 files, where the engine shows them
        assert seen[seen.index("inputs-read-only") + 1] == "1024"
    with app_engine(server, token) as client:
        assert client.get(f"/task-runs/{run}/input/input").content == b"kept"


def test_an_image_running_as_another_user_writes_its_outputs(
    server: LiveServer, user: tuple[str, str]
) -> None:
    """The outputs folder is writable by any uid (as upstream's ``chmod 777`` init container makes it)."""
    _, token = user
    task = new_task(server, "id -u > /outputs/output", user="65534")
    run = started_run(server, token, task, {"input": "x"})
    final = wait_state(server, token, run, ("FINISHED", "FAILED"))
    assert final["state"] == "FINISHED", run_of(server, run)["reason"]
    assert run_of(server, run)["outputs"] == {"output": "65534"}


def test_dataset_references_are_linked_in_local_mode(
    server: LiveServer, user: tuple[str, str], datasets: Path
) -> None:
    """An array of files given as paths under the datasets folder: nothing copied, the container reads
    them through links made at run time, the datasets folder mounted read-only at its own path."""
    _, token = user

    def files_in(document: dict[str, Any]) -> None:
        document["inputs"]["input"]["type"] = {"id": "array", "subtype": "file", "min_size": 1, "max_size": 5}

    task = new_task(server, "cat /inputs/input/0 /inputs/input/1 > /outputs/output", files_in)
    run = started_run(server, token, task, {"input": [str(datasets / "a.txt"), str(datasets / "b.txt")]})
    final = wait_state(server, token, run, ("FINISHED", "FAILED"))
    assert final["state"] == "FINISHED", run_of(server, run)
    assert run_of(server, run)["outputs"] == {"output": "alphabeta"}


def test_a_user_job_dressed_as_a_run_gets_no_runner_and_no_engine(
    server: LiveServer, user: tuple[str, str]
) -> None:
    """A job of the run's owner copying the run's generic information runs sandboxed as what it is: the
    runner's routes answer its token 404, it has no ``DOCKER_HOST`` and cannot open the socket."""
    _, token = user
    task = corpus_task(server, "com.cytomine.dummy.identity.string-1.0.0")
    run = started_run(server, token, task, {"input": "y"})
    wait_state(server, token, run, ("FINISHED", "FAILED"))
    host = docker_socket()
    code = f"""
import os, socket, httpx
url = os.environ["RUNYARD_URL"] + "/app-engine/v1/task-runs/{run}/execution"
answer = httpx.get(url, headers={{"Authorization": "Bearer " + os.environ["RUNYARD_TOKEN"]}})
print("EXECUTION", answer.status_code)
print("DOCKER_HOST", os.environ.get("DOCKER_HOST"))
try:
    socket.socket(socket.AF_UNIX).connect({host!r})
    print("SOCKET open")
except OSError as error:
    print("SOCKET refused", type(error).__name__)
os.environ["RUNYARD_APP_ENGINE_RUN"] = "{run}"
from runyard.appengine import runner
try:
    runner.main()
    print("RUNNER ran")
except Exception as error:
    print("RUNNER refused", type(error).__name__)
"""
    workflow = {
        "name": "dressed",
        "generic_information": {"app-engine.run": run},
        "tasks": {"T": {"script": {"cpython": code}}},
    }
    with server.client(token) as client:
        submitted = client.post("/jobs", json={"workflow": yaml.safe_dump(workflow)})
        assert submitted.status_code in (200, 201), submitted.text
        job_id = submitted.json()["id"]
        wait_for(client, job_id)
        output = client.get(f"/jobs/{job_id}/logs").text
    assert "EXECUTION 404" in output, output
    assert "DOCKER_HOST None" in output
    assert "SOCKET refused" in output
    assert "RUNNER refused" in output


def test_another_runs_token_and_a_session_are_refused_by_the_runner_routes(
    server: LiveServer, user: tuple[str, str]
) -> None:
    _, token = user
    task = corpus_task(server, "com.cytomine.dummy.identity.string-1.0.0")
    run = started_run(server, token, task, {"input": "z"})
    wait_state(server, token, run, ("FINISHED", "FAILED"))
    with app_engine(server, token) as client:
        assert client.get(f"/task-runs/{run}/execution").status_code == 404
        assert client.post(f"/task-runs/{run}/execution/finished", json={}).status_code == 404
        assert client.get(f"/task-runs/{run}/execution/image.tar").status_code == 404
        assert (
            client.post(f"/task-runs/{run}/not-the-secret/outputs.zip", files={"o": b"x"}).status_code == 403
        )


# -- images made here ----------------------------------------------------------------------------


def docker_socket() -> str:
    return os.environ["DOCKER_HOST"].removeprefix("unix://")


def new_task(
    server: LiveServer,
    script: str,
    change: Callable[[dict[str, Any]], None] | None = None,
    user: str | None = None,
) -> dict[str, Any]:
    """A task whose image is the identity.string bundle's base with ``script`` as its entry point (built
    here, nothing pulled), uploaded under a namespace of its own."""
    corpus_task(server, "com.cytomine.dummy.identity.string-1.0.0")
    engine = docker.from_env()
    try:
        image_id = base_image_id()
        context = io.BytesIO()
        with tarfile.open(fileobj=context, mode="w") as tar:
            dockerfile = f"FROM {image_id}\nENTRYPOINT {json.dumps(['/bin/sh', '-c', script])}\n"
            if user is not None:
                dockerfile += f"USER {user}\n"
            entry = tarfile.TarInfo("Dockerfile")
            entry.size = len(dockerfile.encode())
            tar.addfile(entry, io.BytesIO(dockerfile.encode()))
        context.seek(0)
        image, _ = engine.images.build(fileobj=context, custom_context=True, pull=False, rm=True)
        saved = b"".join(image.save(named=False))
    finally:
        engine.close()
    bundle, _ = renamed_bundle(
        "com.cytomine.dummy.identity.string-1.0.0",
        extra={"com.cytomine.dummy.identity.string-1.0.0.tar": saved},
        change=change,
    )
    return upload(server, server.admin_token, bundle)


def base_image_id() -> str:
    """The engine's id of a task's image (the corpus image's config digest)."""
    engine = docker.from_env()
    try:
        for image in engine.images.list():
            if any(tag.startswith("com/cytomine/dummy/identity/string") for tag in image.tags):
                return str(image.id)
    finally:
        engine.close()
    raise AssertionError("the identity.string image is not on the engine")


_built: dict[tuple[str, str], dict[str, Any]] = {}


def built_task(server: LiveServer, script: str) -> dict[str, Any]:
    if (server.url, script) not in _built:
        _built[server.url, script] = new_task(server, script)
    return _built[server.url, script]


def slow_task(server: LiveServer) -> dict[str, Any]:
    return built_task(server, "sleep 60; cp /inputs/input /outputs/output")


# -- what the tests share (test_cluster_mode.py too) ---------------------------------------------


def started_run(
    server: LiveServer,
    token: str,
    task: dict[str, Any],
    values: dict[str, Any],
    before_start: Callable[[str], None] | None = None,
) -> str:
    """A run of ``task`` with ``values`` provisioned (bytes: a file part; a list: an array), started
    (``before_start`` given the run's id in between)."""
    with app_engine(server, token) as client:
        created = client.post(f"/tasks/{task['id']}/runs")
        assert created.status_code == 200, created.text
        run: str = created.json()["id"]
        for name, value in values.items():
            if isinstance(value, bytes):
                answer = client.post(
                    f"/task-runs/{run}/input-provisions/{name}", files={"file": ("f", value)}
                )
            else:
                if isinstance(value, list):
                    value = [{"index": i, "value": item} for i, item in enumerate(value)]
                answer = client.put(
                    f"/task-runs/{run}/input-provisions/{name}", json={"parameterName": name, "value": value}
                )
            assert answer.status_code == 200, answer.text
        if before_start is not None:
            before_start(run)
        started = client.post(f"/task-runs/{run}/state-actions", json={"desired": "RUNNING"})
        assert started.status_code == 200, started.text
        assert started.json()["resource"]["state"] in ("QUEUING", "QUEUED", "PENDING", "RUNNING", "FINISHED")
    return run


def wait_state(
    server: LiveServer, token: str, run: str, states: tuple[str, ...], timeout: float = 90
) -> dict[str, Any]:
    """The run (``GET task-runs/{run}``) once in one of ``states``."""
    deadline = time.monotonic() + timeout
    with app_engine(server, token) as client:
        while True:
            answer = client.get(f"/task-runs/{run}")
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            if body["state"] in states:
                return body
            assert time.monotonic() < deadline, f"run {run} still {body['state']}, not {states}"
            time.sleep(0.1)


def run_of(server: LiveServer, run: str) -> dict[str, Any]:
    """The run's row, as the platform records it (job, reason)."""
    engine = connect(server.database_url or f"sqlite:///{server.data_dir / 'runyard.db'}")
    try:
        with engine.connect() as connection:
            row = find_run(connection, run)
    finally:
        engine.dispose()
    assert row is not None
    return dict(row)


def container_of(run: str) -> str | None:
    """The id of the run's container on the engine, if there is one."""
    engine = docker.from_env()
    try:
        found = engine.containers.list(all=True, filters={"label": f"{CONTAINER_LABEL}={run}"}, sparse=True)
    finally:
        engine.close()
    return str(found[0].id) if found else None


@pytest.mark.timeout(300)  # two server starts
def test_a_run_survives_its_server_killed_mid_run(tmp_path: Path, docker_host: str) -> None:
    """The server (and its nodes: one session) killed -9 while the container runs: the runner's watcher
    removes the container; the server started again runs the run's task again (node lost) and the run
    FINISHES with its output."""
    data, port = tmp_path / "data", free_port()
    data.mkdir()
    create_admin(data, None)
    url = f"http://127.0.0.1:{port}"
    with server_process(data, port) as process:
        server = LiveServer(url, data, None, login(url))
        task = new_task(server, "sleep 4; cp /inputs/input /outputs/output")
        run = started_run(server, server.admin_token, task, {"input": "again"})
        wait_state(server, server.admin_token, run, ("RUNNING",))
        assert container_of(run) is not None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + 30
    while container_of(run) is not None:  # the watcher's doing: no server is there
        assert time.monotonic() < deadline, "the container outlived its runner"
        time.sleep(0.1)
    with server_process(data, port):
        server.admin_token = login(url)
        final = wait_state(server, server.admin_token, run, ("FINISHED", "FAILED"), timeout=180)
        stored = run_of(server, run)
        assert final["state"] == "FINISHED", stored["reason"]
        assert stored["outputs"] == {"output": "again"}
        with server.client(server.admin_token) as client:
            job = client.get(f"/jobs/{stored['job_id']}").json()
    assert job["tasks"][0]["executions"] == 2


def login(url: str) -> str:
    answer = httpx.post(f"{url}/api/v1/sessions", json={"username": ADMIN, "password": PASSWORD})
    answer.raise_for_status()
    token: str = answer.json()["token"]
    return token


def test_runs_on_postgresql(tmp_path: Path, docker_host: str, postgres_server_url: str) -> None:
    """The same life on PostgreSQL (the run row locked FOR UPDATE by the run request that launches it):
    an identity run FINISHES, the addition bundle FAILS naming ``out``."""
    with (
        fresh_postgres_database(postgres_server_url) as url,
        live_server(tmp_path / "server", url, app_engine_run_mode="local") as server,
    ):
        _, token = server.new_user(prefix="ae-pg")
        identity = corpus_task(server, "com.cytomine.dummy.identity.string-1.0.0")
        addition = corpus_task(server, "com.cytomine.dummy.arithmetic.integer.addition-1.0.0")
        finishing = started_run(server, token, identity, {"input": "on postgres"})
        failing = started_run(server, token, addition, {"a": 1, "b": 2})
        assert wait_state(server, token, finishing, ("FINISHED", "FAILED"))["state"] == "FINISHED"
        assert wait_state(server, token, failing, ("FINISHED", "FAILED"))["state"] == "FAILED"
        assert run_of(server, finishing)["outputs"] == {"output": "on postgres"}
        assert "output out:" in (run_of(server, failing)["reason"] or "")


def test_a_run_left_queuing_without_a_job_is_submitted_at_the_next_start(
    tmp_path: Path, docker_host: str
) -> None:
    """The server stopped between recording QUEUING and storing the job (the state written so here, the
    server stopped): the next start finds no job under the run's key, submits it, and the run FINISHES."""
    data = tmp_path / "server"
    with live_server(data) as server:
        _, token = server.new_user(prefix="ae-queuing")
        task = corpus_task(server, "com.cytomine.dummy.identity.string-1.0.0")
        with app_engine(server, token) as client:
            run = client.post(f"/tasks/{task['id']}/runs").json()["id"]
            provisioned = client.put(
                f"/task-runs/{run}/input-provisions/input", json={"parameterName": "input", "value": "later"}
            )
            assert provisioned.status_code == 200, provisioned.text
    engine = connect(f"sqlite:///{data / 'runyard.db'}")
    try:
        with engine.begin() as connection:
            assert move(connection, run, "QUEUING", ("PROVISIONED",), mode="local")
    finally:
        engine.dispose()
    with live_server(data) as server:
        final = wait_state(server, server.admin_token, run, ("FINISHED", "FAILED"))
        stored = run_of(server, run)
    assert final["state"] == "FINISHED", stored["reason"]
    assert stored["job_id"] is not None and stored["outputs"] == {"output": "later"}
