"""Cytomine's ``read.feature``, run as is against a live server and a real Docker daemon.

What the rows name and what they are run with:

- Every ``<task namespace>``/``<task version>`` of the successful outlines is the corpus bundle
  ``<namespace>-<version>.zip``, uploaded once for the module (``identity.image`` and
  ``identity.datetime`` included).
- ``<task uuid>`` and ``<task storage identifier>`` are upstream's fixed example ids (its test
  database is seeded with them); runyard makes ids, so an example uuid of a *valid* task stands for
  the id the upload answered (the rows say "Task 1", the addition bundle in the other outlines) and
  its folder ``task-<id>-def``. The uuids of the "unknown task" rows are used as they are: no task
  has them.
- ``arithmetic.integer.subtraction`` is the "unknown task" of the last outline: the corpus has that
  bundle now, and this module never uploads it.
- The endpoints written ``/task/namespace/version…``, ``/task/id…`` are ``tasks/{namespace}/{version}…``
  and ``tasks/{id}…`` (the feature's own shorthand).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml
from pytest_bdd import given, parsers, scenarios, then, when

from appengine.conftest import FEATURES
from appengine.helpers import app_engine, bundle_entries, corpus_bundle, docker_host, upload_answer
from support.server import LiveServer

scenarios(str(FEATURES / "read.feature"))

__all__ = ["docker_host"]

QUOTED = r'"(?P<{}>[^"]*)"'
OK_PAYLOAD = r'App Engine sends a "200" OK response with a payload containing the '
#: The bundle the rows' "Task 1" is, wherever a row gives only an id.
TASK_1 = "com.cytomine.dummy.arithmetic.integer.addition-1.0.0"
#: Uploaded by "a set of valid tasks".
A_SET = (
    TASK_1,
    "com.cytomine.dummy.identity.boolean-1.0.0",
    "com.cytomine.dummy.identity.integer.collection-0.1.0",
)


class Context(dict[str, Any]):
    """What a scenario's steps pass each other."""


@pytest.fixture(scope="module")
def registered() -> dict[str, dict[str, Any]]:
    """``namespace-version`` → TaskDescription, of the tasks uploaded in this module so far."""
    return {}


@pytest.fixture
def context(server: LiveServer, docker_host: str, registered: dict[str, dict[str, Any]]) -> Context:
    return Context(server=server, registered=registered, ids={})


def _ensure(context: Context, key: str) -> dict[str, Any]:
    registered: dict[str, dict[str, Any]] = context["registered"]
    if key not in registered:
        answer = upload_answer(context["server"], context["server"].admin_token, corpus_bundle(key))
        assert answer.status_code == 200, answer.text
        registered[key] = answer.json()
    return registered[key]


def _document(key: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(bundle_entries(corpus_bundle(key))["descriptor.yml"])
    return document


def _get(context: Context, path: str) -> None:
    with app_engine(context["server"]) as client:
        context["answer"] = client.get(path)


# Background


@given("App Engine is up and running")
def app_engine_up(context: Context) -> None:
    assert httpx.get(f"{context['server'].url}/ping", timeout=60).json()["status"] == "UP"


@given("File storage service is up and running")
def storage_up(context: Context) -> None:
    (context["server"].data_dir / "app-engine").mkdir(parents=True, exist_ok=True)


# Given


@given("a set of valid tasks has been successfully uploaded")
def a_set_uploaded(context: Context) -> None:
    context["expected"] = [_ensure(context, key) for key in A_SET]


@given(
    parsers.re(
        r"a valid task has a "
        + QUOTED.format("namespace")
        + ", a "
        + QUOTED.format("version")
        + r"(?: and "
        + QUOTED.format("uuid")
        + r")? has been successfully uploaded"
    )
)
def task_uploaded(context: Context, namespace: str, version: str, uuid: str | None) -> None:
    context["key"] = f"{namespace}-{version}"
    context["task"] = _ensure(context, context["key"])
    if uuid:
        context["ids"][uuid] = context["task"]["id"]


@given(parsers.re(r"a valid task has a " + QUOTED.format("uuid") + " has been successfully uploaded"))
def task_uploaded_by_id(context: Context, uuid: str) -> None:
    context["key"] = TASK_1
    context["task"] = _ensure(context, TASK_1)
    context["ids"][uuid] = context["task"]["id"]


@given(
    parsers.re(
        r"the task descriptor is stored in the file storage service in storage "
        + QUOTED.format("storage")
        + r' under filename "descriptor.yml"'
    )
)
def descriptor_in_storage(context: Context, storage: str) -> None:
    folder = context["server"].data_dir / "app-engine" / f"task-{context['task']['id']}-def"
    assert (folder / "descriptor.yml").read_bytes() == bundle_entries(corpus_bundle(context["key"]))[
        "descriptor.yml"
    ]


@given(
    parsers.re(
        r"a task unknown to the App Engine has a "
        + QUOTED.format("namespace")
        + " and a "
        + QUOTED.format("version")
        + " and a "
        + QUOTED.format("uuid")
    )
)
def unknown_task(context: Context, namespace: str, version: str, uuid: str) -> None:
    context["namespace"], context["version"], context["uuid"] = namespace, version, uuid
    assert f"{namespace}-{version}" not in context["registered"]


@given("a new task run has been created for this task")
def run_created(context: Context) -> None:
    task = context["task"]
    with app_engine(context["server"]) as client:
        answer = client.post(f"/tasks/{task['namespace']}/{task['version']}/runs")
    assert answer.status_code == 200, answer.text
    context["run"] = answer.json()["id"]


@given(
    parsers.re(
        r"input "
        + QUOTED.format("name")
        + r" with collection item with index (?P<index>\d+) is already provisioned"
    )
)
def item_provisioned(context: Context, name: str, index: str) -> None:
    with app_engine(context["server"]) as client:
        for item in range(int(index) + 1):  # the items before it too: an array has no holes
            answer = client.put(
                f"/task-runs/{context['run']}/input-provisions/{name}/indexes",
                params={"value": str(item)},
                json={"value": 10 + item},
            )
            assert answer.status_code == 200, answer.text


# When


@when(
    parsers.re(
        r"user calls the endpoint " + QUOTED.format("endpoint") + r" \(excluding version prefix.*\) with "
        r"HTTP method " + QUOTED.format("method")
    )
)
def call_endpoint(context: Context, endpoint: str, method: str) -> None:
    assert method == "GET"
    _get(context, f"/{endpoint}")


@when(
    parsers.re(
        r"user calls the download endpoint with "
        + QUOTED.format("namespace")
        + " and "
        + QUOTED.format("version")
        + " with HTTP method GET"
    )
)
def download_by_version(context: Context, namespace: str, version: str) -> None:
    _get(context, f"/tasks/{namespace}/{version}/descriptor.yml")


@when(parsers.re(r"user calls the download endpoint with " + QUOTED.format("uuid") + " with HTTP method GET"))
def download_by_id(context: Context, uuid: str) -> None:
    _get(context, f"/tasks/{context['ids'][uuid]}/descriptor.yml")


@when(
    parsers.re(
        r"user calls the (?:outputs )?endpoint "
        + QUOTED.format("endpoint")
        + " with "
        + QUOTED.format("namespace")
        + " and "
        + QUOTED.format("version")
        + " (?:with )?HTTP method GET"
    )
)
def call_by_version(context: Context, endpoint: str, namespace: str, version: str) -> None:
    suffix = endpoint.removeprefix("/task/namespace/version")
    _get(context, f"/tasks/{namespace}/{version}{suffix}")


@when(
    parsers.re(
        r"user calls the (?:outputs )?endpoint "
        + QUOTED.format("endpoint")
        + r" with (?:id )?"
        + QUOTED.format("uuid")
        + " HTTP method GET"
    )
)
def call_by_id(context: Context, endpoint: str, uuid: str) -> None:
    suffix = endpoint.removeprefix("/task/id").removeprefix("/tasks/{id}")
    _get(context, f"/tasks/{context['ids'][uuid]}{suffix}")


@when(
    parsers.re(
        r"user calls the fetch endpoint "
        + QUOTED.format("endpoint")
        + " with HTTP method "
        + QUOTED.format("method")
    )
)
def fetch_unknown(context: Context, endpoint: str, method: str) -> None:
    assert method == "GET"
    if endpoint.startswith("/task/namespace/version"):
        path = f"/tasks/{context['namespace']}/{context['version']}" + endpoint.removeprefix(
            "/task/namespace/version"
        )
    else:
        path = f"/tasks/{context['uuid']}" + endpoint.removeprefix("/task/id")
    _get(context, path)


@when(
    parsers.re(
        r'user calls the endpoint "/task-runs/run-id/input/input-name/indexes\?value" with '
        + QUOTED.format("name")
        + r" and (?P<index>\d+) HTTP method GET"
    )
)
def get_item(context: Context, name: str, index: str) -> None:
    context["index"] = int(index)
    _get(context, f"/task-runs/{context['run']}/input/{name}/indexes?value={index}")


# Then


@then("App Engine retrieves relevant data from the database")
def retrieved(context: Context) -> None:
    assert context["answer"].status_code == 200, context["answer"].text


@then(parsers.re(OK_PAYLOAD + r"descriptions of the available tasks as a JSON payload \(see OpenAPI spec\)"))
def all_descriptions(context: Context) -> None:
    listed = {task["id"]: task for task in context["answer"].json()}
    for task in context["expected"]:
        assert listed[task["id"]] == task


@then(parsers.re(r'App Engine retrieves the descriptor file "descriptor.yml" from the file storage'))
def descriptor_retrieved(context: Context) -> None:
    assert context["answer"].status_code == 200, context["answer"].text


@then(parsers.re(r'App Engine sends a "200" OK response with the descriptor file as a binary payload .*'))
def descriptor_payload(context: Context) -> None:
    answer = context["answer"]
    assert answer.content == bundle_entries(corpus_bundle(context["key"]))["descriptor.yml"]
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["content-disposition"] == 'attachment; filename="descriptor.yml"'


@then(parsers.re(r"App Engine retrieves task (?P<what>inputs |outputs )?with .* from the database"))
def task_retrieved(context: Context, what: str | None) -> None:
    assert context["answer"].status_code == 200, context["answer"].text


@then(parsers.re(OK_PAYLOAD + r"task description as a JSON payload .*"))
def description_payload(context: Context) -> None:
    description = context["answer"].json()
    document = _document(context["key"])
    assert description == context["task"]
    assert (description["namespace"], description["version"]) == (document["namespace"], document["version"])
    assert description["name"] == document["name"]
    assert [author["email"] for author in description["authors"]] == [a["email"] for a in document["authors"]]


@then(parsers.re(OK_PAYLOAD + r"task inputs as a JSON payload .*"))
def inputs_payload(context: Context) -> None:
    inputs = context["answer"].json()
    document = _document(context["key"])["inputs"]
    assert [item["name"] for item in inputs] == list(document)
    for item in inputs:
        raw = document[item["name"]]
        assert item["display_name"] == raw["display_name"] and item["description"] == raw["description"]
        kind = raw["type"] if isinstance(raw["type"], str) else raw["type"]["id"]
        assert item["type"]["id"] == kind
        assert item["default"] == ("null" if "default" not in raw else str(raw["default"]))


@then(parsers.re(OK_PAYLOAD + r"task outputs as a JSON payload .*"))
def outputs_payload(context: Context) -> None:
    outputs = context["answer"].json()
    document = _document(context["key"])["outputs"]
    assert [item["name"] for item in outputs] == list(document)
    for item in outputs:
        raw = document[item["name"]]
        assert item["displayName"] == raw["display_name"] and item["description"] == raw["description"]
        kind = raw["type"] if isinstance(raw["type"], str) else raw["type"]["id"]
        assert item["type"]["id"] == kind
        derived = (raw.get("dependencies") or {}).get("derived_from")
        assert item["derivedFrom"] == (derived.removeprefix("inputs/") if derived else None)


@then(
    parsers.re(
        r'App Engine sends a "404" HTTP error with a standard error payload containing code '
        + QUOTED.format("code")
    )
)
def not_found(context: Context, code: str) -> None:
    answer = context["answer"]
    assert answer.status_code == 404, answer.text
    body = answer.json()
    assert body["errorCode"] == code and body["message"] and "details" in body


@then(parsers.re(r'App Engine sends a "200" OK response with a payload containing the task input'))
def item_payload(context: Context) -> None:
    answer = context["answer"]
    assert answer.status_code == 200, answer.text
    assert answer.content.strip() == str(10 + context["index"]).encode()
