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
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_bdd import given, parsers, scenario, then, when

from appengine.conftest import FEATURES
from appengine.helpers import app_engine, docker_host, renamed_bundle, upload
from runyard.store.database import connect
from runyard.store.schema import app_engine_runs
from support.server import LiveServer

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


def _hardcoded_addition(document: dict[str, Any]) -> None:
    document["outputs"] = {"sum": {"display_name": "Sum", "description": "a + b", "type": "integer"}}


@pytest.fixture(scope="module")
def addition(server: LiveServer, docker_host: str) -> dict[str, Any]:
    data, _ = renamed_bundle(
        "com.cytomine.dummy.arithmetic.integer.addition-1.0.0", change=_hardcoded_addition
    )
    return upload(server, server.admin_token, data)


class Context(dict[str, Any]):
    """What a scenario's steps pass each other."""

    @property
    def server(self) -> LiveServer:
        server: LiveServer = self["server"]
        return server

    def client(self) -> httpx.Client:
        return app_engine(self.server)

    @property
    def run_id(self) -> str:
        run_id: str = self["run"]["id"]
        return run_id

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

    def row(self) -> dict[str, Any]:
        engine = connect(f"sqlite:///{self.server.data_dir / 'runyard.db'}")
        try:
            with engine.connect() as connection:
                query = app_engine_runs.select().where(app_engine_runs.c.id == self.run_id)
                return dict(connection.execute(query).mappings().one())
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

    def state(self) -> str:
        with self.client() as client:
            state: str = client.get(f"/task-runs/{self.run_id}").json()["state"]
        return state


@pytest.fixture
def context(server: LiveServer, addition: dict[str, Any]) -> Context:
    return Context(server=server, task=addition)


# ---------------------------------------------------------------------------------------------------
# Background


@given("App Engine is up and running")
def app_engine_up(context: Context) -> None:
    assert httpx.get(f"{context.server.url}/ping").json()["status"] == "UP"


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
