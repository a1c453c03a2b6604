"""Cytomine's ``provision.feature``, every scenario and Examples row, against a live server and a real
Docker daemon (tasks are uploaded through ``POST /tasks``, each bundle once per module).

How the rows are run (upstream's step definitions do the same, unless said):

- The request is built from the parameter's name, value and type, not from the ``payload`` column
  (several payloads are not JSON: ``"value": A``, ``"value": nan``, a doubled ``"geometry":`` key):
  integers and numbers as JSON numbers (``nan``, ``inf``, ``-inf`` as Jackson writes them:
  ``"NaN"``, ``"Infinity"``, ``"-Infinity"``), booleans as JSON booleans, the other scalars as JSON
  strings (the ``string`` rows' values keep their quotes, as upstream's), arrays parsed from the value,
  files and images as a multipart file part. For an input the task does not have, the value goes as a
  JSON string, as upstream's. The batch rows take the payload's names and the values' text.
- ``binary`` for an image is a real image (the corpus's ``image.png``; ``binary (content 1)`` /
  ``(content 2)``: ``image.png`` / ``image.jpg``): an image input checks its format, so the word
  itself would be refused. For a file it is the word's bytes.
- Bundles the corpus does not have are stand-ins: the corpus's boolean image with a descriptor
  written here under upstream's namespace (``identity.file.collection``, ``constrained.number.addition``,
  ``constrained.string.identity``, ``identity.multiple.types``, ``identity.optional``), with the
  constraints the rows need. Steps that upstream runs by changing its stored task ("this task has
  only one input parameter", "with a validation rule ``lt: 53``") upload the task so changed under a
  namespace of its own.
- "in the database": the run's row (``app_engine_runs.provisions``) read through the store.
- Re-provisioning starts from a run provisioned through the API (upstream writes the row and file
  itself); for ``b`` it provisions ``a`` = 10 too, as upstream's step does.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pytest_bdd import given, parsers, scenarios, then, when

from appengine.conftest import CORPUS, FEATURES
from appengine.helpers import FeatureContext, app_engine, corpus_bundle, docker_host, renamed_bundle, upload
from support.server import LiveServer

scenarios(str(FEATURES / "provision.feature"))

__all__ = ["docker_host"]

IMAGES = CORPUS / "images"
BINARY_IMAGES = {"binary": "image.png", "binary (content 1)": "image.png", "binary (content 2)": "image.jpg"}
Q = r'"(?P<{}>(?:[^"\\]|\\.)*)"'


def _inputs(**inputs: Any) -> Callable[[dict[str, Any]], None]:
    """A descriptor change: these inputs (name → type, ``optional`` in the type mapping), output kept."""

    def change(document: dict[str, Any]) -> None:
        document["inputs"] = {}
        for name, kind in inputs.items():
            optional = isinstance(kind, dict) and kind.pop("optional", False)
            document["inputs"][name] = {"display_name": name, "description": name, "type": kind}
            if optional:
                document["inputs"][name]["optional"] = True

    return change


_TYPES = {
    "int_input": "integer",
    "number_input": "number",
    "string_input": "string",
    "enum_input": {"id": "enumeration", "values": ["A", "B", "C"]},
}
#: Stand-ins for the bundles the corpus does not have: upstream's namespace → its inputs.
STANDINS: dict[str, Callable[[], Callable[[dict[str, Any]], None]]] = {
    "com.cytomine.dummy.identity.file.collection": lambda: _inputs(input={"id": "array", "subtype": "file"}),
    "com.cytomine.dummy.constrained.number.addition": lambda: _inputs(
        a={"id": "number", "lt": 5, "gt": -10},
        b={"id": "number", "leq": 10, "geq": -5},
        c={"id": "number", "nan_allowed": False, "infinity_allowed": False},
        d={"id": "number", "nan_allowed": True, "infinity_allowed": True},
    ),
    "com.cytomine.dummy.constrained.string.identity": lambda: _inputs(
        input={"id": "string", "min_length": 1, "max_length": 9}
    ),
    "com.cytomine.dummy.identity.multiple.types": lambda: _inputs(**_TYPES, geometry_input="geometry"),
    "com.cytomine.dummy.identity.optional": lambda: _inputs(
        **_TYPES, geometry_input={"id": "geometry", "optional": True}
    ),
}


class Catalog:
    """The module's tasks, each uploaded once: corpus bundles, stand-ins, and changed copies."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.tasks: dict[tuple[str, str], dict[str, Any]] = {}
        self.derived: dict[tuple[str, str, str], dict[str, Any]] = {}

    def task(self, namespace: str, version: str) -> dict[str, Any]:
        key = (namespace, version)
        if key not in self.tasks:
            if namespace in STANDINS:
                data, _ = renamed_bundle(
                    namespace=namespace, change=_versioned(version, STANDINS[namespace]())
                )
                self.tasks[key] = upload(self.server, self.server.admin_token, data)
            else:
                self.tasks[key] = upload(
                    self.server, self.server.admin_token, corpus_bundle(f"{namespace}-{version}")
                )
        return self.tasks[key]

    def changed(
        self, task: dict[str, Any], what: str, change: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """``task``'s descriptor with ``change`` applied, uploaded under a namespace of its own."""
        key = (task["namespace"], task["version"], what)
        if key not in self.derived:
            with app_engine(self.server) as client:
                url = f"/tasks/{task['namespace']}/{task['version']}/descriptor.yml"
                document = yaml.safe_load(client.get(url).content)

            def replace(target: dict[str, Any]) -> None:
                namespace = target["namespace"]
                target.clear()
                target.update(document)
                target["namespace"] = namespace
                change(target)

            data, _ = renamed_bundle(change=replace)
            self.derived[key] = upload(self.server, self.server.admin_token, data)
        return self.derived[key]


def _versioned(version: str, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        document["version"] = version
        change(document)

    return apply


@pytest.fixture(scope="module")
def catalog(server: LiveServer, docker_host: str) -> Catalog:
    return Catalog(server)


class Context(FeatureContext):
    """What a scenario's steps pass each other."""

    def inputs_folder(self) -> Path:
        return self.server.data_dir / "app-engine" / f"task-run-inputs-{self.run_id}"

    def input_type(self, name: str) -> str | None:
        with self.client() as client:
            inputs = client.get(f"/tasks/{self['task']['id']}/inputs").json()
        return next((i["type"]["id"] for i in inputs if i["name"] == name), None)


@pytest.fixture
def context(server: LiveServer, catalog: Catalog) -> Context:
    return Context(server=server, catalog=catalog)


def unescape(text: str) -> str:
    """A quoted step argument as Cucumber's ``{string}`` gives it (``\\"`` → ``"``)."""
    return re.sub(r"\\(.)", r"\1", text)


def typed(kind: str, value: str) -> Any:
    """The JSON value upstream's test client sends for ``value`` of type ``kind``."""
    if kind == "integer":
        return int(value)
    if kind == "number":
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return number
    if kind == "boolean":
        return value.lower() == "true"
    if kind == "array":
        return json.loads(value)
    return value


def binary(kind: str, value: str) -> bytes:
    if kind == "image":
        return (IMAGES / BINARY_IMAGES[value]).read_bytes()
    return value.encode()


def provision(context: Context, name: str, value: str, kind: str) -> httpx.Response:
    """Provision ``name`` as upstream's test client does; the answer is kept for the Then steps."""
    known = context.input_type(name) is not None
    url = f"/task-runs/{context.run_id}/input-provisions/{name}"
    with context.client() as client:
        if known and kind in ("image", "file"):
            answer = client.post(url, files={"file": ("file.txt", binary(kind, value))})
        else:
            body: dict[str, Any] = {"parameterName": name, "value": typed(kind, value) if known else value}
            if known:
                body["type"] = kind.upper()
            answer = client.put(url, json=body)
    context["answer"] = answer
    return answer


def expected_content(kind: str, value: str) -> bytes:
    return binary(kind, value) if value.startswith("binary") else value.encode()


# ---------------------------------------------------------------------------------------------------
# Background and tasks


@given("App Engine is up and running")
def app_engine_up(context: Context) -> None:
    assert httpx.get(f"{context.server.url}/ping", timeout=60).json()["status"] == "UP"


@given("File storage service is up and running")
def storage_up(context: Context) -> None:
    assert context.server.data_dir.is_dir()


@given("a task has been successfully uploaded")
def a_task_uploaded(context: Context) -> None:
    """The task is named by the next step."""


@given(parsers.re("this task has " + Q.format("namespace") + " and " + Q.format("version") + "$"))
def this_task_has(context: Context, catalog: Catalog, namespace: str, version: str) -> None:
    context["task"] = catalog.task(namespace, version)


@given("this task has at least one input parameter")
def at_least_one_input(context: Context) -> None:
    with context.client() as client:
        assert client.get(f"/tasks/{context['task']['id']}/inputs").json()


@given(
    parsers.re("this task has only one input parameter " + Q.format("name") + " of type " + Q.format("kind"))
)
def only_one_input(context: Context, catalog: Catalog, name: str, kind: str) -> None:
    assert context.input_type(name) == kind

    def keep(document: dict[str, Any]) -> None:
        document["inputs"] = {name: document["inputs"][name]}

    context["task"] = catalog.changed(context["task"], f"only {name}", keep)


@given(
    parsers.re(
        "this task has at least one input parameter " + Q.format("name") + " of type " + Q.format("kind")
    )
)
def has_input_of_type(context: Context, name: str, kind: str) -> None:
    assert context.input_type(name) == kind


@given("this task has two input parameters")
def two_inputs(context: Context) -> None:
    with context.client() as client:
        assert len(client.get(f"/tasks/{context['task']['id']}/inputs").json()) == 2


@given(
    parsers.re(
        r"the (first|second) parameter is "
        + Q.format("name")
        + " of type "
        + Q.format("kind")
        + " without a validation rule"
    )
)
def parameter_without_rule(context: Context, name: str, kind: str) -> None:
    assert context.input_type(name) == kind


@given(
    parsers.re(
        "the first parameter is "
        + Q.format("name")
        + " of type "
        + Q.format("kind")
        + " with a validation rule "
        + Q.format("rule")
    )
)
def parameter_with_rule(context: Context, catalog: Catalog, name: str, kind: str, rule: str) -> None:
    assert context.input_type(name) == kind
    key, _, bound = rule.partition(":")

    def add_rule(document: dict[str, Any]) -> None:
        declared = document["inputs"][name]["type"]
        declared = {"id": declared} if isinstance(declared, str) else declared
        declared[key.strip()] = int(bound)
        document["inputs"][name]["type"] = declared

    context["task"] = catalog.changed(context["task"], f"{name} {rule}", add_rule)


@given(parsers.re("(this parameter has no validation rules|no validation rules are defined for .*)"))
def no_rules(context: Context) -> None:
    """Nothing to do: the rows' parameters are declared without constraints."""


@given(parsers.re("the parameter " + Q.format("name") + " has validation rules"))
def has_rules(context: Context, name: str) -> None:
    with context.client() as client:
        inputs = client.get(f"/tasks/{context['task']['id']}/inputs").json()
    kind = next(i["type"] for i in inputs if i["name"] == name)
    assert set(kind) - {"id"}, kind


@given(parsers.re("this task has no parameter named " + Q.format("name")))
def no_parameter_named(context: Context, name: str) -> None:
    assert context.input_type(name) is None


# ---------------------------------------------------------------------------------------------------
# Runs


@when(parsers.re("user calls the endpoint " + Q.format("endpoint") + " with HTTP method POST"))
def create_run_endpoint(context: Context, endpoint: str) -> None:
    task = context["task"]
    path = {
        "/task/namespace/version/runs": f"/tasks/{task['namespace']}/{task['version']}/runs",
        "/task/id/runs": f"/tasks/{task['id']}/runs",
    }[endpoint]
    with context.client() as client:
        context["answer"] = client.post(path)
    context["run"] = context["answer"].json()


@given("a task run has been created for this task")
def run_created(context: Context) -> None:
    with context.client() as client:
        answer = client.post(f"/tasks/{context['task']['id']}/runs")
    assert answer.status_code == 200, answer.text
    context["run"] = answer.json()


@given(
    parsers.re(
        "a task run has been created and provisioned with parameter "
        + Q.format("name")
        + " value "
        + Q.format("value")
        + " for this task"
    )
)
def run_created_and_provisioned(context: Context, name: str, value: str) -> None:
    run_created(context)
    value = unescape(value)
    kind = context.input_type(name)
    assert kind is not None
    assert provision(context, name, value, kind).status_code == 200, context["answer"].text
    if name == "b":
        assert provision(context, "a", "10", "integer").status_code == 200
    context["kind"] = kind


@then("a task run is created on the App Engine")
def run_is_created(context: Context) -> None:
    assert context["answer"].status_code == 200, context["answer"].text
    assert context["run"]["task"]["id"] == context["task"]["id"]


@given("this task run is attributed an id in UUID format")
@then("this task run is attributed an id in UUID format")
def run_id_is_uuid(context: Context) -> None:
    assert str(uuid.UUID(context.run_id)) == context.run_id


@then(parsers.re("this task run is attributed the state " + Q.format("state")))
def run_has_state(context: Context, state: str) -> None:
    assert context["run"]["state"] == state
    assert context.state() == state


@then(parsers.re('a storage for the task run is created in the file service under name "task-run-"\\+UUID'))
def run_storage_created(context: Context) -> None:
    base = context.server.data_dir / "app-engine"
    assert (base / f"task-run-inputs-{context.run_id}").is_dir()
    assert (base / f"task-run-outputs-{context.run_id}").is_dir()


@then(
    parsers.re(
        "the App Engine returns a '200 OK' HTTP response with the updated task run information "
        "as JSON payload"
    )
)
def answered_ok(context: Context) -> None:
    assert context["answer"].status_code == 200, context["answer"].text


@given(
    parsers.re("this task run has not been provisioned yet and is therefore in state " + Q.format("state"))
)
@given(parsers.re("this task run is in state " + Q.format("state")))
def run_in_state(context: Context, state: str) -> None:
    assert context.state() == state


# ---------------------------------------------------------------------------------------------------
# Provisioning


@when(
    parsers.re(
        "a user calls the provisioning endpoint with "
        + Q.format("payload")
        + " to provision parameter "
        + Q.format("name")
        + " with "
        + Q.format("value")
        + " of type "
        + Q.format("kind")
    )
)
def provision_parameter(context: Context, payload: str, name: str, value: str, kind: str) -> None:
    context["kind"] = kind
    provision(context, name, unescape(value), kind)


@when(
    parsers.re(
        "a user calls the provisioning endpoint with "
        + Q.format("payload")
        + " to provision collection "
        + Q.format("name")
        + " with "
        + Q.format("value")
        + " of type "
        + Q.format("kind")
        + r" in (?P<index>\d+)"
    )
)
def provision_item(context: Context, payload: str, name: str, value: str, kind: str, index: str) -> None:
    url = f"/task-runs/{context.run_id}/input-provisions/{name}/indexes"
    with context.client() as client:
        if kind in ("image", "file"):
            answer = client.post(
                url, params={"value": index}, files={"file": ("file.txt", binary(kind, value))}
            )
        else:
            answer = client.put(url, params={"value": index}, json={"value": typed(kind, value)})
    context["answer"] = answer


@when(parsers.re("a user calls the endpoint with JSON " + Q.format("payload")))
def provision_batch(context: Context, payload: str) -> None:
    body = []
    for item in json.loads(unescape(payload)):
        name = item.get("parameterName", item.get("param_name"))
        kind = context.input_type(name)
        value = item["value"] if isinstance(item["value"], str) else json.dumps(item["value"])
        body.append({"parameterName": name, "value": typed(kind, value) if kind else value})
    with context.client() as client:
        context["answer"] = client.put(f"/task-runs/{context.run_id}/input-provisions", json=body)


@when("a user calls the provisioning endpoint for provisioning all the parameters")
def provision_all(context: Context, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    for row in rows:
        values = dict(zip(header, row, strict=True))
        if values["parameter_value"].lower() == "null":
            continue
        answer = provision(
            context, values["parameter_name"], values["parameter_value"], values["parameter_type"]
        )
        assert answer.status_code == 200, (values, answer.text)


@then(
    parsers.re(
        "the value "
        + Q.format("value")
        + " is saved and associated (with )?(parameter|collection) "
        + Q.format("name")
        + " in the database"
    )
)
def value_saved(context: Context, value: str, name: str) -> None:
    assert context["answer"].status_code == 200, context["answer"].text
    assert name in context.row()["provisions"]


@then(
    parsers.re(
        "a input file named "
        + Q.format("name")
        + ' is created in the task run storage "task-run-"\\+UUID with content '
        + Q.format("content")
    )
)
def input_file_created(context: Context, name: str, content: str) -> None:
    path = context.inputs_folder() / name
    content = unescape(content)
    if content == "directory":
        assert path.is_dir()
        assert sorted(p.name for p in path.iterdir()) == ["0", "1", "array.yml"]
    else:
        kind = context.get("kind") or context.input_type(name) or ""
        assert path.read_bytes() == expected_content(kind, content)


@then(
    parsers.re(
        "a input file named "
        + Q.format("index")
        + ' is created in the task run storage "task-run-"\\+UUID within '
        + Q.format("name")
    )
)
def input_item_created(context: Context, index: str, name: str) -> None:
    folder = context.inputs_folder() / name
    assert sorted(p.name for p in folder.iterdir()) == sorted([index, "array.yml"])
    assert (folder / "array.yml").read_text() == f"size: {int(index) + 1}"


@given(
    parsers.re(
        "the file named "
        + Q.format("name")
        + ' in the task run storage "task-run-"\\+UUID has content '
        + Q.format("content")
    )
)
def file_has_content(context: Context, name: str, content: str) -> None:
    assert (context.inputs_folder() / name).read_bytes() == expected_content(
        context["kind"], unescape(content)
    )


@then(
    parsers.re(
        "the value of parameter "
        + Q.format("name")
        + " is updated to "
        + Q.format("value")
        + " in the database"
    )
)
def value_updated(context: Context, name: str, value: str) -> None:
    assert context["answer"].status_code == 200, context["answer"].text
    recorded = context.row()["provisions"][name]["value"]
    kind = context["kind"]
    if kind in ("image", "file"):
        assert recorded is None
    elif kind == "geometry":
        assert json.loads(recorded) == json.loads(unescape(value))
    else:
        assert recorded == typed(kind, unescape(value))


@then(
    parsers.re(
        "the input file named "
        + Q.format("name")
        + ' is updated in the task run storage "task-run-"\\+UUID with content '
        + Q.format("content")
    )
)
def input_file_updated(context: Context, name: str, content: str) -> None:
    assert (context.inputs_folder() / name).read_bytes() == expected_content(
        context["kind"], unescape(content)
    )


@then(
    parsers.re(
        "the task run states changes to "
        + Q.format("state")
        + " because the task is now completely provisioned"
    )
)
@then(
    parsers.re(
        "the task run state remains as " + Q.format("state") + " since not all parameters are provisioned yet"
    )
)
@then(parsers.re("the task run state remains unchanged and set to " + Q.format("state")))
def run_state_is(context: Context, state: str) -> None:
    assert context.state() == state


@then(
    parsers.re(
        r"the App Engine returns an \"(?P<status>\d+)\" (bad request|not found) error response with "
        + Q.format("error")
    )
)
def error_answer(context: Context, status: str, error: str) -> None:
    answer: httpx.Response = context["answer"]
    assert answer.status_code == int(status), answer.text
    assert answer.json() == json.loads(unescape(error))


@then(
    parsers.re(
        "the App Engine does not record "
        + Q.format("first")
        + " nor "
        + Q.format("second")
        + " in file storage or database"
    )
)
def nothing_recorded(context: Context, first: str, second: str) -> None:
    assert context.row()["provisions"] == {}
    assert list(context.inputs_folder().iterdir()) == []
