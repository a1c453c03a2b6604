"""Cytomine's ``run.feature``: the scenarios that need no execution, against a live server and a real
Docker daemon.

Run here: a run request refused in CREATED (provisions not found) and once launched (state error),
the run's detail, inputs.zip (in a launched run; refused in CREATED), outputs.zip and the outputs as
JSON (in a FINISHED run; refused before). Left to the execution's tests: a run request that starts
the run, the outputs upload through the secret URL (three scenarios) and the allocation of resources.

How the rows are run:

- The task is upstream's hand-built addition (``TestTaskBuilder.buildHardcodedAddInteger``): the
  corpus's addition image with inputs ``a``, ``b`` and the output ``sum``, uploaded once under a
  namespace of its own (the corpus bundle declares ``out``, see the corpus README).
- ``<task_run_id>`` is upstream's fixed example; runyard makes the id, so the run the steps create
  is used under that label.
- States past PROVISIONED (QUEUED, RUNNING, FINISHED) are set by writing the run's row through
  ``runyard.store`` (after its inputs were provisioned through the API, which refuses them later);
  a FINISHED run's outputs (the file ``sum`` and the recorded value) are written likewise: that is
  the execution's work, not under test here.
"""

from __future__ import annotations

import io
import os
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_bdd import given, parsers, scenario, then, when

from appengine.conftest import FEATURES
from appengine.helpers import FeatureContext, docker_host, renamed_bundle, upload
from runyard.store.database import connect
from runyard.store.schema import app_engine_runs
from support.server import LiveServer, live_server

__all__ = ["docker_host"]

FEATURE = str(FEATURES / "run.feature")
Q = r'"(?P<{}>[^"]*)"'
#: States a run reaches only through execution: set through the store.
EXECUTED = frozenset({"QUEUING", "QUEUED", "PENDING", "RUNNING", "FINISHED", "FAILED"})


@scenario(FEATURE, "unsuccessful run request of a task which has not been provisioned")
def test_run_request_before_provisioning() -> None:
    pass


@scenario(FEATURE, "unsuccessful run request for a task that was already launched")
def test_run_request_once_launched() -> None:
    pass


@scenario(FEATURE, "successful retrieval of task run information for an existing task run")
def test_run_information() -> None:
    pass


@scenario(FEATURE, "successful fetch of task run inputs archive in a launched task run")
def test_inputs_archive() -> None:
    pass


@scenario(FEATURE, "unsuccessful fetch of task run inputs archive in a created task run")
def test_inputs_archive_refused() -> None:
    pass


@scenario(FEATURE, "successful fetch of task run outputs archive in a finished task run")
def test_outputs_archive() -> None:
    pass


@scenario(FEATURE, "unsuccessful fetch of task run outputs archive in a non-finished task run")
def test_outputs_archive_refused() -> None:
    pass


@scenario(FEATURE, "successful fetch of task run outputs in JSON format for a finished task run")
def test_outputs_json() -> None:
    pass


@scenario(FEATURE, "unsuccessful fetch of task run outputs in JSON format for a non-finished task run")
def test_outputs_json_refused() -> None:
    pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, docker_host: str) -> Iterator[LiveServer]:
    """The module's server, started once Docker is there: its nodes' runners reach the daemon through
    the ``DOCKER_HOST`` they inherit."""
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


def _hardcoded_addition(document: dict[str, Any]) -> None:
    document["outputs"] = {"sum": {"display_name": "Sum", "description": "a + b", "type": "integer"}}


@pytest.fixture(scope="module")
def addition(server: LiveServer, docker_host: str) -> dict[str, Any]:
    data, _ = renamed_bundle(
        "com.cytomine.dummy.arithmetic.integer.addition-1.0.0", change=_hardcoded_addition
    )
    return upload(server, server.admin_token, data)


class Context(FeatureContext):
    """What a scenario's steps pass each other."""

    def storage(self) -> Path:
        return self.server.data_dir / "app-engine"

    def write_row(self, **values: Any) -> None:
        engine = connect(f"sqlite:///{self.server.data_dir / 'runyard.db'}")
        try:
            with engine.begin() as connection:
                update = app_engine_runs.update().where(app_engine_runs.c.id == self.run_id)
                connection.execute(update.values(**values))
        finally:
            engine.dispose()

    def provision(self, **values: Any) -> None:
        with self.client() as client:
            for name, value in values.items():
                answer = client.put(
                    f"/task-runs/{self.run_id}/input-provisions/{name}",
                    json={"parameterName": name, "value": value},
                )
                assert answer.status_code == 200, answer.text

    def settle(self) -> None:
        """Write the state the scenario asked for, once its inputs are in (provisioning is refused past
        PROVISIONED)."""
        state = self.pop("pending", None)
        if state is not None:
            self.write_row(state=state)


@pytest.fixture
def context(server: LiveServer, addition: dict[str, Any]) -> Context:
    return Context(server=server, task=addition)


# ---------------------------------------------------------------------------------------------------
# Background


@given("App Engine is up and running")
def app_engine_up(context: Context) -> None:
    assert httpx.get(f"{context.server.url}/ping", timeout=60).json()["status"] == "UP"


@given("File storage service is up and running")
def storage_up(context: Context) -> None:
    assert context.storage().is_dir()


@given("Registry service is up and running")
def registry_up(context: Context, docker_host: str) -> None:
    """runyard has no registry: images are loaded into the container engine, which must answer."""
    import docker

    client = docker.from_env()
    try:
        assert client.ping()
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------------
# Runs and their states


@given(parsers.re("a task run " + Q.format("label") + " has successfully been created for a task"))
@given(parsers.re("a task run exists with identifier " + Q.format("label")))
def run_created(context: Context, label: str) -> None:
    with context.client() as client:
        answer = client.post(f"/tasks/{context['task']['id']}/runs")
    assert answer.status_code == 200, answer.text
    context["run"] = answer.json()
    context["label"] = label


@given(
    parsers.re(
        "this task run has not been successfully provisioned yet and is therefore in state "
        + Q.format("state")
    )
)
def run_not_provisioned(context: Context, state: str) -> None:
    assert state == "CREATED"
    context.provision(a=1)  # one of two inputs
    assert context.state() == state


@given(
    parsers.re(
        "App Engine has already received a run request for this task run which is therefore not in state "
        + Q.format("excluded")
    )
)
def run_already_launched(context: Context, excluded: str) -> None:
    context.provision(a=1, b=2)
    context.write_row(state="QUEUED")
    assert context.state() not in excluded.split(",")
    context["before"] = context.row()


@given(parsers.re("the task run is in state " + Q.format("state") + "$"))
def run_in_state(context: Context, state: str) -> None:
    if state in ("PROVISIONED", *EXECUTED):
        context.provision(a=3, b=4)
    if state in EXECUTED:
        context["pending"] = state
    else:
        assert context.state() == state
    context["expected"] = state


@given(
    parsers.re(
        "the task run "
        + Q.format("label")
        + " has input parameters: "
        + Q.format("first")
        + " of type "
        + Q.format("first_type")
        + " with value "
        + Q.format("first_value")
        + " and "
        + Q.format("second")
        + " of type "
        + Q.format("second_type")
        + " with value "
        + Q.format("second_value")
    )
)
def run_has_inputs(
    context: Context,
    label: str,
    first: str,
    first_type: str,
    first_value: str,
    second: str,
    second_type: str,
    second_value: str,
) -> None:
    assert first_type == second_type == "integer"
    context.provision(**{first: int(first_value), second: int(second_value)})
    context["inputs"] = {first: first_value, second: second_value}


@given(
    parsers.re(
        "the task run "
        + Q.format("label")
        + " has output parameters: "
        + Q.format("name")
        + " of type "
        + Q.format("kind")
        + r" with value (?P<value>\S+)"
    )
)
def run_has_outputs(context: Context, label: str, name: str, kind: str, value: str) -> None:
    """What the execution leaves behind: the output's file and its recorded value."""
    assert kind == "integer"
    (context.storage() / f"task-run-outputs-{context.run_id}" / name).write_text(value)
    context.write_row(outputs={name: int(value)})


# ---------------------------------------------------------------------------------------------------
# Calls


def _call(context: Context, method: str, path: str, **options: Any) -> None:
    context.settle()
    with context.client() as client:
        context["answer"] = client.request(method, f"/task-runs/{context.run_id}{path}", **options)


@when("When user calls the endpoint to run task with HTTP method POST")
def run_request(context: Context) -> None:
    _call(context, "POST", "/state-actions", json={"desired": "RUNNING"})


@when(parsers.re("user calls the endpoint with " + Q.format("label") + " HTTP method GET"))
def get_run(context: Context, label: str) -> None:
    _call(context, "GET", "")


@when(
    parsers.re(
        "user calls the endpoint to fetch inputs archive with " + Q.format("label") + " HTTP method GET"
    )
)
def get_inputs_archive(context: Context, label: str) -> None:
    _call(context, "GET", "/inputs.zip")


@when(
    parsers.re(
        "user calls the endpoint to fetch (outputs archive )?with " + Q.format("label") + " HTTP method GET"
    )
)
def get_outputs_archive(context: Context, label: str) -> None:
    _call(context, "GET", "/outputs.zip")


@when(
    parsers.re("user calls the endpoint to fetch outputs json with " + Q.format("label") + " HTTP method GET")
)
def get_outputs_json(context: Context, label: str) -> None:
    _call(context, "GET", "/outputs")


# ---------------------------------------------------------------------------------------------------
# Answers


@then(
    parsers.re(
        r'App Engine sends a "403" [Ff]orbidden response with a payload containing the error message '
        r"\(see OpenAPI spec\) and code " + Q.format("code")
    )
)
def forbidden(context: Context, code: str) -> None:
    answer: httpx.Response = context["answer"]
    assert answer.status_code == 403, answer.text
    assert answer.json()["errorCode"] == code


@then(parsers.re("this task run remains in state " + Q.format("state")))
@then(parsers.re("the task run state remains as " + Q.format("state")))
def run_remains(context: Context, state: str) -> None:
    assert context.state() == state


@then("App Engine does not initiate the process of executing this task run")
@then("App Engine does not re-initiate the process of executing this task run")
def not_executed(context: Context) -> None:
    row = context.row()
    assert row["job_id"] is None and row["mode"] is None


@then("this task run state progress is not affected by the request")
def state_unaffected(context: Context) -> None:
    row = context.row()
    assert (row["state"], row["updated_at"]) == (context["before"]["state"], context["before"]["updated_at"])


@then(
    parsers.re(
        r'App Engine sends a "200" OK response with a payload containing task run information '
        r"\(see OpenAPI spec\)"
    )
)
def run_information(context: Context) -> None:
    answer: httpx.Response = context["answer"]
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"id", "task", "state", "createdAt", "updatedAt"}


@then("the retrieved task run information matches the expected details")
def run_details(context: Context) -> None:
    body = context["answer"].json()
    assert body["id"] == context.run_id and str(uuid.UUID(body["id"])) == body["id"]
    assert body["task"] == context["task"]
    assert body["state"] == context["expected"]
    assert body["createdAt"] <= body["updatedAt"]


@then(
    parsers.re(r'App Engine sends a "200 OK" response with a payload containing the (inputs|outputs) archive')
)
def archive_answer(context: Context) -> None:
    answer: httpx.Response = context["answer"]
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    context["archive"] = zipfile.ZipFile(io.BytesIO(answer.content))


@then(
    parsers.re(
        "the archive contains files named " + Q.format("first") + "( and " + Q.format("second") + ")?$"
    )
)
def archive_names(context: Context, first: str, second: str | None) -> None:
    archive: zipfile.ZipFile = context["archive"]
    assert sorted(archive.namelist()) == sorted(name for name in (first, second) if name)
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())


@then(parsers.re("the content of (output )?file " + Q.format("name") + " is " + Q.format("content")))
def archive_content(context: Context, name: str, content: str) -> None:
    assert context["archive"].read(name) == content.encode()


@then(
    parsers.re(
        r'App Engine sends a "200 OK" response with a payload containing task run outputs in JSON format'
    )
)
def outputs_json(context: Context) -> None:
    answer: httpx.Response = context["answer"]
    assert answer.status_code == 200, answer.text


@then(
    parsers.re(
        "the payload contains the output "
        + Q.format("name")
        + r" and their corresponding value (?P<value>\S+)"
    )
)
def outputs_value(context: Context, name: str, value: str) -> None:
    assert context["answer"].json() == [
        {"taskRunId": context.run_id, "parameterName": name, "type": "INTEGER", "value": int(value)}
    ]


# ---------------------------------------------------------------------------------------------------
# The execution's scenarios: a run request that starts the run, the outputs upload through the secret
# URL, the allocation of resources (runyard.appengine.execution).


@scenario(FEATURE, "successful run request for a provisioned task run")
def test_run_request() -> None:
    pass


@scenario(FEATURE, "successful upload of task run outputs as a valid zip file in running or pending state")
def test_outputs_upload() -> None:
    pass


@scenario(FEATURE, "unsuccessful upload of task run outputs as an invalid zip file in running state")
def test_outputs_upload_unknown_output() -> None:
    pass


@scenario(
    FEATURE,
    "unsuccessful upload of task run outputs as a valid zip file in a non-running non-pending state state",
)
def test_outputs_upload_refused() -> None:
    pass


@scenario(FEATURE, "successful allocation of resources for a task run")
def test_resources() -> None:
    pass


@given("this task run has been successfully provisioned and is therefore in state 'PROVISIONED'")
def run_provisioned(context: Context) -> None:
    context.provision(a=5, b=10)
    assert context.state() == "PROVISIONED"


@then('App Engine sends a "200" OK response with a payload containing the success message (see OpenAPI spec)')
def run_request_answer(context: Context) -> None:
    answer: httpx.Response = context["answer"]
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "success"
    assert body["resource"]["id"] == context.run_id
    context["launched"] = body["resource"]["state"]


@then(parsers.re("App Engine moves the task run to a state different from " + Q.format("excluded")))
def run_moved(context: Context, excluded: str) -> None:
    assert context["launched"] not in excluded.split(",")
    assert context.state() not in excluded.split(",")


@then("App Engine initiates the process of executing the task run")
def run_executed(context: Context) -> None:
    """A runyard job runs it: the hand-built addition's container writes ``sum`` = 5 + 10."""
    state = _final_state(context)
    row = context.row()
    assert row["job_id"] is not None and row["mode"] == "local"
    assert state == "FINISHED", row["reason"]
    assert row["outputs"] == {"sum": 15}


def _final_state(context: Context, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while (state := context.state()) not in ("FINISHED", "FAILED"):
        assert time.monotonic() < deadline, f"the run is still {state}"
        time.sleep(0.1)
    return state


@given(parsers.re(r'the task run is in state "RUNNING" or "PENDING"'))
def run_running(context: Context) -> None:
    """As if its container ran: the job itself is not under test (the outputs upload is)."""
    context.provision(a=3, b=4)
    context["pending"] = "RUNNING"


@given(
    parsers.re(
        "a valid zip file containing one file named "
        + Q.format("name")
        + " and contains "
        + Q.format("value")
    )
)
def valid_outputs_zip(context: Context, name: str, value: str) -> None:
    context["zip"] = _zip({name: value.encode()})


@given(parsers.re("the task run has an output parameter " + Q.format("name")))
def has_output(context: Context, name: str) -> None:
    with context.client() as client:
        outputs = client.get(f"/tasks/{context['task']['id']}/outputs").json()
    assert [output["name"] for output in outputs] == [name]


@given(parsers.re("a zip file is used which does not contain a file named " + Q.format("name")))
def zip_without(context: Context, name: str) -> None:
    context["zip"] = _zip({"out": b"15"})


@given("the task run is not in one of the following state")
def run_not_in(context: Context, datatable: list[list[str]]) -> None:
    context.provision(a=1, b=2)
    assert context.state() not in {row[0] for row in datatable}


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@when(
    parsers.re(
        "user calls the endpoint to post outputs with "
        + Q.format("label")
        + " HTTP method POST and (a valid outputs zip file|the zip file as a binary payload)"
    )
)
def post_outputs(context: Context, label: str) -> None:
    """The sidecar's call (cluster mode): the run's secret in the path, the zip as the part ``outputs``."""
    context.settle()
    data = context.get("zip") or _zip({"sum": b"15"})
    secret = context.row()["secret"]
    with httpx.Client(base_url=f"{context.server.url}/app-engine/v1") as anonymous:
        path = f"/task-runs/{context.run_id}/{secret}/outputs.zip"
        context["answer"] = anonymous.post(path, files={"outputs": ("outputs.zip", data, "application/zip")})


@then('App Engine sends a "200" OK response with a payload containing task run outputs in JSON format')
def uploaded_answer(context: Context) -> None:
    answer: httpx.Response = context["answer"]
    assert answer.status_code == 200, answer.text


@then("the payload contains the output parameters and their corresponding values")
def uploaded_values(context: Context) -> None:
    value = int(context["zip"] and zipfile.ZipFile(io.BytesIO(context["zip"])).read("sum"))
    assert context["answer"].json() == [
        {"taskRunId": context.run_id, "parameterName": "sum", "type": "INTEGER", "value": value}
    ]
    assert context.state() == "FINISHED"


@then(
    parsers.re(
        r'App Engine sends a "400" Bad Request response with a payload containing the error message '
        r"\(see OpenAPI spec\) and code " + Q.format("code")
    )
)
def bad_request(context: Context, code: str) -> None:
    answer: httpx.Response = context["answer"]
    assert answer.status_code == 400, answer.text
    assert answer.json()["errorCode"] == code
    assert context.state() == "FAILED"  # the run's outputs are final: an unknown one fails it


# Resources: a stand-in for upstream's resource.allocation bundle (not in the corpus): identity.string's
# image, sleeping long enough for its container to be inspected, under a namespace of its own per row.


@given(
    parsers.re("a task with " + Q.format("namespace") + " and " + Q.format("version") + " has been uploaded")
)
def resources_task(context: Context, namespace: str, version: str) -> None:
    context["upstream_task"] = (namespace, version)


@given(
    parsers.re(
        "The task is assigned "
        + Q.format("ram")
        + " RAM, "
        + Q.format("cpus")
        + " CPUs, and "
        + Q.format("gpus")
        + " GPUs"
    )
)
def resources_assigned(context: Context, ram: str, cpus: str, gpus: str) -> None:
    context["resources"] = {"ram": ram, "cpus": int(cpus), "gpus": int(gpus)}


@given(
    parsers.re(
        "the task has requested "
        + Q.format("ram")
        + " RAM, "
        + Q.format("cpus")
        + " CPUs, and "
        + Q.format("gpus")
        + " GPUs"
    )
)
def resources_requested(context: Context, ram: str, cpus: str, gpus: str) -> None:
    from appengine.test_execution import new_task

    resources = context["resources"]
    assert resources == {"ram": ram, "cpus": int(cpus), "gpus": int(gpus)}

    def with_resources(document: dict[str, Any]) -> None:
        document["configuration"]["resources"] = resources

    context["task"] = new_task(context.server, "sleep 2; cp /inputs/input /outputs/output", with_resources)


@given(parsers.re("a task run has been created with " + Q.format("label")))
def resources_run(context: Context, label: str) -> None:
    run_created(context, label)


@given("a user provisioned all the parameters")
def resources_provisioned(context: Context, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    assert header == ["parameter_name", "parameter_type", "parameter_value"]
    context.provision(**{name: value for name, kind, value in rows if kind == "string"})


@then(
    parsers.re(
        "the cluster has allocated "
        + Q.format("ram")
        + " RAM, "
        + Q.format("cpus")
        + " CPUs, and "
        + Q.format("gpus")
        + " GPUs as requested."
    )
)
def resources_allocated(context: Context, ram: str, cpus: str, gpus: str) -> None:
    """Where a node has what the task asks, its container is limited to it (memory, swap included, and
    CPUs); where none has (no GPU here, 500 PB of memory), the node selection refuses every node and the
    run waits for one, never started short of it (the row's upstream expectation cannot hold here)."""
    import docker

    from runyard.appengine.descriptor import parse_memory

    memory, wanted = parse_memory(ram), int(cpus)
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    fits = int(gpus) == 0 and wanted <= (os.cpu_count() or 1) and memory <= available
    engine = docker.from_env()
    try:
        label = f"runyard.app-engine.run={context.run_id}"
        deadline = time.monotonic() + (60 if fits else 5)
        found: list[Any] = []
        while not found and time.monotonic() < deadline:
            found = engine.containers.list(all=True, filters={"label": label})
            time.sleep(0.05)
        if fits:
            assert found, "no container"
            config = found[0].attrs["HostConfig"]
            assert (config["Memory"], config["MemorySwap"]) == (memory, memory)
            assert config["NanoCpus"] == wanted * 1_000_000_000
            assert config["NetworkMode"] == "none" and config["CapDrop"] == ["ALL"]
            assert _final_state(context) == "FINISHED", context.row()["reason"]
        else:
            assert not found
            assert context.state() in ("QUEUED", "PENDING")
            with context.client() as client:  # its job killed, the run removed
                assert client.delete(f"/task-runs/{context.run_id}").status_code == 200
    finally:
        engine.close()
