"""App Engine runs over REST against a live server and a real dockerd: creation, ownership,
provisioning (JSON, batch, multipart images, array items, dataset references), state actions, reads.

States past PROVISIONED (a run being executed, a FINISHED one with outputs) are set up by writing the
run's row through ``runyard.store`` directly: their execution is another module's (test_run_feature).
"""

from __future__ import annotations

import io
import json
import os
import socket
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from appengine.conftest import CORPUS, UPLOAD_LIMIT
from appengine.helpers import app_engine, corpus_bundle, docker_host, renamed_bundle, upload
from runyard.appengine import provisioning
from runyard.appengine.errors import AppEngineError
from runyard.appengine.storage import Storage
from runyard.store.database import connect
from runyard.store.schema import app_engine_runs
from support.server import LiveServer, backend_server

__all__ = ["docker_host"]

IMAGES = CORPUS / "images"
NOT_FOUND = "APPE-internal-run-not-found-error"
STATE = "APPE-internal-task-run-state-error"
VALIDATION = "APPE-internal-request-validation-error"
INDEXES = "APPE-internal-invalid-indexes"


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("datasets")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, docker_host: str, datasets: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server for the module and backend, with a datasets folder for references."""
    folder = tmp_path_factory.mktemp("server")
    limits = {"app_engine_max_upload_bytes": UPLOAD_LIMIT}
    with backend_server(request, folder, app_engine_datasets=datasets, **limits) as started:
        yield started


def _descriptor(
    inputs: dict[str, Any], outputs: dict[str, Any] | None = None
) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["inputs"] = {name: _parameter(name, kind) for name, kind in inputs.items()}
        document["outputs"] = {
            name: _parameter(name, kind) for name, kind in (outputs or {"output": "boolean"}).items()
        }

    return change


def _parameter(name: str, kind: Any) -> dict[str, Any]:
    optional = isinstance(kind, dict) and kind.pop("optional", False)
    parameter = {"display_name": name, "description": f"the {name}", "type": kind}
    if optional:
        parameter["optional"] = True
    return parameter


@pytest.fixture(scope="module")
def tasks(server: LiveServer) -> dict[str, str]:
    """The module's tasks, uploaded once: name → namespace (version 1.0.0 for stand-ins)."""
    standins: dict[str, dict[str, Any]] = {
        "constrained": {"a": {"id": "integer", "lt": 0}, "b": {"id": "integer", "gt": 0}},
        "images": {"input": "image"},
        "small_images": {"input": {"id": "image", "max_file_size": "100kB", "max_width": 600}},
        "png_only": {"input": {"id": "image", "formats": ["png"]}},
        "references": {"input": {"id": "array", "subtype": "file"}},
        "nested": {
            "input": {
                "id": "array",
                "max_size": 3,
                "subtype": {"id": "array", "max_size": 4, "subtype": "integer"},
            }
        },
        "image_items": {"input": {"id": "array", "subtype": "image"}},
        "no_inputs": {},
        "optional": {"a": "integer", "b": {"id": "string", "optional": True}},
    }
    names: dict[str, str] = {}
    for name, inputs in standins.items():
        data, namespace = renamed_bundle(change=_descriptor(inputs))
        upload(server, server.admin_token, data)
        names[name] = namespace
    for name, bundle in {
        "addition": "com.cytomine.dummy.arithmetic.integer.addition-1.0.0",
        "collection": "com.cytomine.dummy.identity.integer.collection-0.1.0",
    }.items():
        names[name] = upload(server, server.admin_token, corpus_bundle(bundle))["namespace"]
    return names


def _version(tasks: dict[str, str], name: str) -> str:
    return {"addition": "1.0.0", "collection": "0.1.0"}.get(name, "1.0.0")


def new_run(client: httpx.Client, tasks: dict[str, str], name: str) -> str:
    answer = client.post(f"/tasks/{tasks[name]}/{_version(tasks, name)}/runs")
    assert answer.status_code == 200, answer.text
    run_id: str = answer.json()["id"]
    return run_id


def put(client: httpx.Client, run_id: str, name: str, value: Any) -> httpx.Response:
    return client.put(
        f"/task-runs/{run_id}/input-provisions/{name}", json={"parameterName": name, "value": value}
    )


def state_of(client: httpx.Client, run_id: str) -> str:
    state: str = client.get(f"/task-runs/{run_id}").json()["state"]
    return state


def storage(server: LiveServer) -> Path:
    return server.data_dir / "app-engine"


def write_row(server: LiveServer, run_id: str, **values: Any) -> None:
    """Set columns of the run's row through the store (states that execution would reach)."""
    engine = connect(server.database_url or f"sqlite:///{server.data_dir / 'runyard.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(
                app_engine_runs.update().where(app_engine_runs.c.id == run_id).values(**values)
            )
    finally:
        engine.dispose()


def error_of(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert body["errorCode"] == code, body
    return body


# ---------------------------------------------------------------------------------------------------
# Runs


def test_a_run_is_created_read_listed_and_deleted(server: LiveServer, tasks: dict[str, str]) -> None:
    _, token = server.new_user()
    with app_engine(server, token) as client:
        by_name = client.post(f"/tasks/{tasks['addition']}/1.0.0/runs").json()
        task_id = by_name["task"]["id"]
        by_id = client.post(f"/tasks/{task_id}/runs").json()
        assert by_name["state"] == by_id["state"] == "CREATED"
        assert by_name["task"]["namespace"] == tasks["addition"]
        for run in (by_name, by_id):
            assert (storage(server) / f"task-run-inputs-{run['id']}").is_dir()
            assert (storage(server) / f"task-run-outputs-{run['id']}").is_dir()
        detail = client.get(f"/task-runs/{by_name['id']}").json()
        assert set(detail) == {"id", "task", "state", "createdAt", "updatedAt"}
        assert detail["createdAt"].endswith("+00:00")
        listed = client.get(f"/tasks/{tasks['addition']}/1.0.0/runs").json()
        assert [run["id"] for run in listed] == [by_name["id"], by_id["id"]]
        assert client.delete(f"/task-runs/{by_name['id']}").status_code == 200
        error_of(client.get(f"/task-runs/{by_name['id']}"), 404, NOT_FOUND)
        assert not (storage(server) / f"task-run-inputs-{by_name['id']}").exists()
    with app_engine(server) as admin:  # an admin sees every run; another user only theirs
        assert by_id["id"] in [
            run["id"] for run in admin.get(f"/tasks/{tasks['addition']}/1.0.0/runs").json()
        ]
    _, other = server.new_user()
    with app_engine(server, other) as client:
        assert client.get(f"/tasks/{tasks['addition']}/1.0.0/runs").json() == []
        error_of(client.post("/tasks/org.runyard.none/1.0.0/runs"), 404, "APPE-internal-task-not-found")


def test_another_users_run_is_not_found_on_every_route(server: LiveServer, tasks: dict[str, str]) -> None:
    _, owner = server.new_user()
    with app_engine(server, owner) as client:
        run_id = new_run(client, tasks, "addition")
        assert put(client, run_id, "a", 1).status_code == 200
    _, stranger = server.new_user()
    base = f"/task-runs/{run_id}"
    calls = [
        ("GET", base, None),
        ("DELETE", base, None),
        ("PUT", f"{base}/input-provisions/a", {"parameterName": "a", "value": 2}),
        ("PUT", f"{base}/input-provisions", [{"parameterName": "a", "value": 2}]),
        ("PUT", f"{base}/input-provisions/a/indexes?value=0", {"value": 2}),
        ("POST", f"{base}/state-actions", {"desired": "RUNNING"}),
        ("GET", f"{base}/inputs", None),
        ("GET", f"{base}/inputs.zip", None),
        ("GET", f"{base}/input/a", None),
        ("GET", f"{base}/input/a/indexes?value=0", None),
        ("GET", f"{base}/outputs", None),
        ("GET", f"{base}/outputs.zip", None),
        ("GET", f"{base}/output/out", None),
        ("GET", f"{base}/output/out/indexes?value=0", None),
    ]
    with app_engine(server, stranger) as client:
        for method, url, body in calls:
            answer = client.request(method, url, json=body)
            assert answer.status_code == 404 and answer.json()["errorCode"] == NOT_FOUND, (
                method,
                url,
                answer.text,
            )
        multipart = client.post(f"{base}/input-provisions/a", files={"file": ("a", b"1")})
        error_of(multipart, 404, NOT_FOUND)
    with app_engine(server, owner) as client:  # untouched
        assert client.get(f"{base}/inputs").status_code == 403  # still CREATED: b is missing
        assert (storage(server) / f"task-run-inputs-{run_id}" / "a").read_bytes() == b"1"


def test_a_task_without_inputs_gets_a_run(server: LiveServer, tasks: dict[str, str]) -> None:
    """Upstream answers 404 task-not-found; here the run is created and PROVISIONED on request."""
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "no_inputs")
        answer = client.post(f"/task-runs/{run_id}/state-actions", json={"desired": "PROVISIONED"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "success"
        assert answer.json()["resource"]["state"] == "PROVISIONED"
        assert client.get(f"/task-runs/{run_id}/inputs").json() == []


# ---------------------------------------------------------------------------------------------------
# Provisioning


def test_reprovisioning_replaces_the_value_and_its_file(server: LiveServer, tasks: dict[str, str]) -> None:
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "addition")
        echo = put(client, run_id, "a", 5).json()
        assert echo == {"parameterName": "a", "value": 5, "taskRunId": run_id}
        assert state_of(client, run_id) == "CREATED"
        answer = client.put(f"/task-runs/{run_id}/input-provisions/b", json={"param_name": "b", "value": 7})
        assert answer.status_code == 200, answer.text
        assert state_of(client, run_id) == "PROVISIONED"
        assert put(client, run_id, "a", 11).status_code == 200
        assert state_of(client, run_id) == "PROVISIONED"
        assert (storage(server) / f"task-run-inputs-{run_id}" / "a").read_bytes() == b"11"
        values = {v["parameterName"]: v for v in client.get(f"/task-runs/{run_id}/inputs").json()}
        assert values["a"] == {"taskRunId": run_id, "parameterName": "a", "type": "INTEGER", "value": 11}
        wrong_type = client.put(
            f"/task-runs/{run_id}/input-provisions/a",
            json={"parameterName": "a", "type": "STRING", "value": 3},
        )
        error_of(wrong_type, 400, VALIDATION)
        error_of(client.put(f"/task-runs/{run_id}/input-provisions/a", content=b"{not json"), 403, STATE)
        error_of(put(client, run_id, "nope", 1), 404, "APPE-internal-parameter-not-found")


def test_a_batch_with_two_errors_reports_both_and_writes_nothing(
    server: LiveServer, tasks: dict[str, str]
) -> None:
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "constrained")
        answer = client.put(
            f"/task-runs/{run_id}/input-provisions",
            json=[{"parameterName": "a", "value": 3}, {"parameterName": "b", "value": -3}],
        )
        body = error_of(answer, 400, "APPE-internal-batch-request-error")
        assert body["details"]["type"] == "batch"
        assert [(e["details"]["parameterName"], e["errorCode"]) for e in body["details"]["errors"]] == [
            ("a", VALIDATION),
            ("b", VALIDATION),
        ]
        assert list((storage(server) / f"task-run-inputs-{run_id}").iterdir()) == []
        good = client.put(
            f"/task-runs/{run_id}/input-provisions",
            json=[{"parameterName": "a", "value": -3}, {"parameterName": "b", "value": 3}],
        )
        assert good.status_code == 200, good.text
        assert [e["parameterName"] for e in good.json()] == ["a", "b"]
        assert state_of(client, run_id) == "PROVISIONED"


def test_optional_inputs_may_be_null(server: LiveServer, tasks: dict[str, str]) -> None:
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "optional")
        assert put(client, run_id, "b", None).status_code == 200
        assert state_of(client, run_id) == "CREATED"
        assert put(client, run_id, "a", 1).status_code == 200
        assert state_of(client, run_id) == "PROVISIONED"
        assert not (storage(server) / f"task-run-inputs-{run_id}" / "b").exists()
        values = client.get(f"/task-runs/{run_id}/inputs").json()  # in the descriptor's order
        assert [(v["parameterName"], v["value"]) for v in values] == [("a", 1), ("b", None)]
        error_of(put(client, run_id, "a", None), 400, "APPE-internal-null-provision")


@pytest.mark.parametrize("image", ["image.png", "image.jpg", "image.tif", "image.zip"])
def test_an_image_of_each_format_is_provisioned(
    server: LiveServer, tasks: dict[str, str], image: str
) -> None:
    data = (IMAGES / image).read_bytes()
    sidecar = json.dumps({"type": "Point", "coordinates": [1, 2]}).encode()
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "images")
        answer = client.post(
            f"/task-runs/{run_id}/input-provisions/input",
            files=[("file", (image, data)), ("location", ("location.geojson", sidecar))],
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"parameterName": "input", "taskRunId": run_id}
        assert state_of(client, run_id) == "PROVISIONED"
        stored = storage(server) / f"task-run-inputs-{run_id}" / "input"
        served = client.get(f"/task-runs/{run_id}/input/input")
        assert served.status_code == 200
        if image == "image.zip":  # a zipped WSI-DICOM: stored unzipped, served zipped again
            assert stored.is_dir()
            with zipfile.ZipFile(io.BytesIO(served.content)) as archive:
                assert len([n for n in archive.namelist() if n.endswith(".dcm")]) == 4
        else:
            assert stored.read_bytes() == data == served.content
        geojson = client.get(f"/task-runs/{run_id}/input/input.geojson")
        assert geojson.headers["content-type"] == "application/geo+json"
        assert geojson.content == sidecar


def test_images_are_refused_by_format_size_and_width(server: LiveServer, tasks: dict[str, str]) -> None:
    with app_engine(server) as client:
        for task, image in [
            ("images", "not an image"),
            ("png_only", "image.jpg"),
            ("small_images", "image.tif"),
            ("small_images", "image.png"),
        ]:
            run_id = new_run(client, tasks, task)
            data = image.encode() if " " in image else (IMAGES / image).read_bytes()
            answer = client.post(f"/task-runs/{run_id}/input-provisions/input", files={"file": ("x", data)})
            assert answer.status_code == 400, (task, image, answer.text)
            assert answer.json()["details"]["parameterName"] == "input"
            assert state_of(client, run_id) == "CREATED"
            assert list((storage(server) / f"task-run-inputs-{run_id}").iterdir()) == []


def test_a_2_gb_declared_multipart_is_refused_and_leaves_nothing(
    server: LiveServer, tasks: dict[str, str]
) -> None:
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "images")
    host, port = server.url.removeprefix("http://").split(":")
    head = (
        f"POST /app-engine/v1/task-runs/{run_id}/input-provisions/input HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {server.admin_token}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {2 * 1024**3}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(
            head.encode() + b"--b\r\nContent-Disposition: form-data; name=file; filename=x\r\n\r\n"
        )
        connection.sendall(b"\0" * 65536)
        reply = connection.recv(4096).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413"), reply
    with app_engine(server) as client:  # the same streamed without a length: cut at the body limit
        chunks = (b"\0" * (1024 * 1024) for _ in range(40))
        body = iter([b"--b\r\nContent-Disposition: form-data; name=file; filename=x\r\n\r\n", *chunks])
        answer = client.post(
            f"/task-runs/{run_id}/input-provisions/input",
            content=body,
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
        assert answer.status_code == 413
        assert state_of(client, run_id) == "CREATED"
    assert list((storage(server) / f"task-run-inputs-{run_id}").iterdir()) == []
    assert list((storage(server) / "uploads").glob("provision-*")) == []


# ---------------------------------------------------------------------------------------------------
# Arrays


def test_array_items_are_provisioned_one_by_one_within_range(
    server: LiveServer, tasks: dict[str, str]
) -> None:
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "collection")
        base = f"/task-runs/{run_id}/input-provisions/input/indexes"
        echo = client.put(f"{base}?value=1", json={"value": 20})
        assert echo.json() == {"index": "input/1", "value": 20, "taskRunId": run_id}
        assert state_of(client, run_id) == "CREATED"  # item 0 missing
        assert client.put(f"{base}?value=0", json={"value": 10}).status_code == 200
        assert state_of(client, run_id) == "PROVISIONED"
        folder = storage(server) / f"task-run-inputs-{run_id}" / "input"
        assert (folder / "array.yml").read_text() == "size: 2"
        assert (folder / "0").read_text() == "10" and (folder / "1").read_text() == "20"
        error_of(client.put(f"{base}?value=5", json={"value": 1}), 400, INDEXES)  # max_size 5
        error_of(client.put(f"{base}?value=01", json={"value": 1}), 400, INDEXES)
        error_of(client.put(f"{base}?value=0/1", json={"value": 1}), 400, INDEXES)
        error_of(client.put(f"{base}?value=2", json={"value": 301}), 400, VALIDATION)  # leq 300
        assert client.get(f"/task-runs/{run_id}/input/input/indexes?value=1").content == b"20"
        value = client.get(f"/task-runs/{run_id}/inputs").json()[0]
        assert value["type"] == "ARRAY" and value["subType"] == "INTEGER"
        assert value["value"] == [{"index": 0, "value": 10}, {"index": 1, "value": 20}]


def test_items_provisioned_at_once_are_all_kept(server: LiveServer, tasks: dict[str, str]) -> None:
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "collection")

    def provision_item(index: int) -> int:
        with app_engine(server) as client:
            answer = client.put(
                f"/task-runs/{run_id}/input-provisions/input/indexes",
                params={"value": str(index)},
                json={"value": index * 10},
            )
            return answer.status_code

    with ThreadPoolExecutor(5) as pool:
        assert list(pool.map(provision_item, range(5))) == [200] * 5
    with app_engine(server) as client:
        value = client.get(f"/task-runs/{run_id}/inputs").json()[0]["value"]
        assert value == [{"index": i, "value": i * 10} for i in range(5)]
        assert state_of(client, run_id) == "PROVISIONED"
    assert (storage(server) / f"task-run-inputs-{run_id}" / "input" / "array.yml").read_text() == "size: 5"


def test_nested_arrays_whole_and_by_item(server: LiveServer, tasks: dict[str, str]) -> None:
    nested = [
        {"index": 0, "value": [{"index": 0, "value": 1}, {"index": 1, "value": 2}]},
        {"index": 1, "value": [{"index": 0, "value": 3}]},
    ]
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "nested")
        answer = put(client, run_id, "input", nested)
        assert answer.status_code == 200, answer.text
        folder = storage(server) / f"task-run-inputs-{run_id}" / "input"
        assert (folder / "array.yml").read_text() == "size: 2"
        assert (folder / "0" / "array.yml").read_text() == "size: 2"
        assert (folder / "0" / "1").read_text() == "2"
        assert client.get(f"/task-runs/{run_id}/inputs").json()[0]["value"] == nested
        item = client.put(f"/task-runs/{run_id}/input-provisions/input/indexes?value=1/1", json={"value": 4})
        assert item.status_code == 200, item.text
        assert (folder / "1" / "array.yml").read_text() == "size: 2"
        assert (folder / "1" / "1").read_text() == "4"
        error_of(
            client.put(f"/task-runs/{run_id}/input-provisions/input/indexes?value=1/4", json={"value": 4}),
            400,
            INDEXES,
        )
        error_of(
            client.put(f"/task-runs/{run_id}/input-provisions/input/indexes?value=3/0", json={"value": 4}),
            400,
            INDEXES,
        )
        archive = zipfile.ZipFile(io.BytesIO(client.get(f"/task-runs/{run_id}/inputs.zip").content))
        assert sorted(archive.namelist()) == [
            "input/0/0",
            "input/0/1",
            "input/0/array.yml",
            "input/1/0",
            "input/1/1",
            "input/1/array.yml",
            "input/array.yml",
        ]


def test_a_refused_image_item_leaves_the_former_one(server: LiveServer, tasks: dict[str, str]) -> None:
    png = (IMAGES / "image.png").read_bytes()
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "image_items")
        items = f"/task-runs/{run_id}/input-provisions/input/indexes"
        first = client.post(items, params={"value": "0"}, files={"file": ("a.png", png)})
        assert first.json() == {"index": "input/0", "value": None, "taskRunId": run_id}
        assert state_of(client, run_id) == "PROVISIONED"
        refused = client.post(items, params={"value": "0"}, files={"file": ("a.txt", b"not an image")})
        assert refused.status_code == 400, refused.text
        error_of(client.put(items, params={"value": "1"}, json={"value": "/x"}), 400, VALIDATION)
        far = client.post(items, params={"value": "100000"}, files={"file": ("a.png", png)})
        error_of(far, 400, INDEXES)  # no max_size: at most runyard's 100 000 items
        with zipfile.ZipFile(io.BytesIO(client.get(f"/task-runs/{run_id}/inputs.zip").content)) as archive:
            assert archive.read("input/0") == png
            assert archive.read("input/array.yml") == b"size: 1"
        assert client.get(f"/task-runs/{run_id}/input/input/indexes?value=0").content == png


def test_a_body_nested_past_any_limit_is_refused_not_crashed(
    server: LiveServer, tasks: dict[str, str]
) -> None:
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "collection")
        deep = b'{"parameterName": "input", "value": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
        error_of(client.put(f"/task-runs/{run_id}/input-provisions/input", content=deep), 403, STATE)
        nested = {"parameterName": "input", "value": [[[[[[[[[[1]]]]]]]]]]}
        answer = client.put(f"/task-runs/{run_id}/input-provisions/input", json=nested)
        assert answer.status_code == 400, answer.text


# ---------------------------------------------------------------------------------------------------
# References


def test_references_are_accepted_under_the_datasets_folder_only(
    server: LiveServer, tasks: dict[str, str], datasets: Path, tmp_path: Path
) -> None:
    inside = datasets / "slide.tif"
    inside.write_bytes(b"II*\0")
    (datasets / "folder").mkdir(exist_ok=True)
    outside = tmp_path / "secret"
    outside.write_text("secret")
    link = datasets / "link"
    if not link.is_symlink():
        link.symlink_to(outside)
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "references")
        for refused in [
            str(outside),
            str(link),
            str(datasets / "folder"),
            "relative/path",
            str(datasets / "absent"),
            f"{datasets}/../{outside.parent.name}/secret",
        ]:
            answer = put(client, run_id, "input", [{"index": 0, "value": refused}])
            assert answer.status_code == 400, (refused, answer.text)
        assert state_of(client, run_id) == "CREATED"
        answer = put(client, run_id, "input", [{"index": 0, "value": str(inside)}])
        assert answer.status_code == 200, answer.text
        assert state_of(client, run_id) == "PROVISIONED"
        assert client.get(f"/task-runs/{run_id}/inputs").json()[0]["value"] == [
            {"index": 0, "value": str(inside.resolve())}
        ]
        assert list((storage(server) / f"task-run-inputs-{run_id}").iterdir()) == []  # nothing copied
        assert client.get(f"/task-runs/{run_id}/input/input/indexes?value=0").content == b"II*\0"
        with zipfile.ZipFile(io.BytesIO(client.get(f"/task-runs/{run_id}/input/input").content)) as archive:
            assert {n: archive.read(n) for n in archive.namelist()} == {
                "input/array.yml": b"size: 1",
                "input/0": b"II*\0",
            }
        error_of(
            client.get(f"/task-runs/{run_id}/input/input/indexes?value=1"),
            404,
            "APPE-storage-reading-file-error",
        )
        moved = datasets / "moved.tif"
        inside.rename(moved)
        inside.symlink_to(outside)  # the referenced path now leads out of the datasets folder
        try:
            error_of(
                client.get(f"/task-runs/{run_id}/input/input/indexes?value=0"),
                404,
                "APPE-storage-reading-file-error",
            )
            error_of(client.get(f"/task-runs/{run_id}/input/input"), 404, "APPE-storage-reading-file-error")
        finally:
            inside.unlink()
            moved.rename(inside)


def test_staging_left_by_a_killed_provision_is_discarded_before_a_run(tmp_path: Path) -> None:
    run_id = "2b0d7c5e-8c1f-4c55-9a43-1d3c1f1e7a10"
    inputs = Storage(tmp_path).run_inputs(run_id)
    (inputs / ".input.staged").mkdir(parents=True)
    (inputs / ".input.staged" / "input").write_bytes(b"half")
    (inputs / "items" / ".0.staged").mkdir(parents=True)
    (inputs / "a").write_text("1")
    provisioning.discard_staging(Storage(tmp_path), run_id)
    assert sorted(p.relative_to(inputs).as_posix() for p in inputs.rglob("*")) == ["a", "items"]


def test_references_are_refused_without_a_datasets_folder() -> None:
    with pytest.raises(AppEngineError) as refused:
        provisioning.dataset_file("/etc/hostname", None, "input")
    assert refused.value.status == 400 and "disabled" in refused.value.message


# ---------------------------------------------------------------------------------------------------
# States and reads


def test_state_actions_and_gated_reads(server: LiveServer, tasks: dict[str, str]) -> None:
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "addition")
        actions = f"/task-runs/{run_id}/state-actions"
        error_of(
            client.post(actions, json={"desired": "PROVISIONED"}),
            403,
            "APPE-internal-task-run-provisions-not-found",
        )
        error_of(
            client.post(actions, json={"desired": "RUNNING"}),
            403,
            "APPE-internal-task-run-provisions-not-found",
        )
        unknown = error_of(client.post(actions, json={"desired": "FLYING"}), 403, STATE)
        assert unknown["message"] == "unknown state in transition request"
        error_of(client.post(actions, content=b"nope"), 403, STATE)
        error_of(client.get(f"/task-runs/{run_id}/inputs"), 403, STATE)
        error_of(client.get(f"/task-runs/{run_id}/inputs.zip"), 403, STATE)
        error_of(client.get(f"/task-runs/{run_id}/outputs"), 403, STATE)
        for name, value in (("a", 18), ("b", 24)):
            assert put(client, run_id, name, value).status_code == 200
        error_of(client.post(actions, json={"desired": "PROVISIONED"}), 403, STATE)  # not from PROVISIONED
        zipped = client.get(f"/task-runs/{run_id}/inputs.zip")
        assert zipped.headers["content-disposition"] == f'attachment; filename="inputs-{run_id}.zip"'
        with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
            entries = {info.filename: info for info in archive.infolist()}
            assert set(entries) == {"a", "b"}
            assert all(info.compress_type == zipfile.ZIP_STORED for info in entries.values())
            assert zlib.crc32(b"18") == entries["a"].CRC and archive.read("b") == b"24"
        error_of(client.get(f"/task-runs/{run_id}/outputs.zip"), 403, STATE)
        write_row(server, run_id, state="QUEUED")  # being executed: inputs frozen, RUNNING refused
        error_of(put(client, run_id, "a", 1), 403, STATE)
        error_of(client.post(actions, json={"desired": "RUNNING"}), 403, STATE)
        assert client.get(f"/task-runs/{run_id}/inputs").status_code == 200
        assert client.delete(f"/task-runs/{run_id}").status_code == 200  # its job (none here) killed first
        error_of(client.get(f"/task-runs/{run_id}"), 404, NOT_FOUND)
        assert not (storage(server) / f"task-run-inputs-{run_id}").exists()


def test_outputs_are_served_without_following_links(
    server: LiveServer, tasks: dict[str, str], tmp_path: Path
) -> None:
    with app_engine(server) as client:
        run_id = new_run(client, tasks, "collection")
        assert put(client, run_id, "input", [{"index": 0, "value": 7}]).status_code == 200
        outputs = storage(server) / f"task-run-outputs-{run_id}"
        (outputs / "output").mkdir()
        (outputs / "output" / "array.yml").write_text("size: 1")
        (outputs / "output" / "0").write_text("7")
        secret = tmp_path / "secret"
        secret.write_text("secret")
        os.symlink(secret, outputs / "output" / "1")
        os.symlink(secret, outputs / "stolen")
        write_row(server, run_id, state="FINISHED", outputs={"output": [7], "stolen": 1})
        values = client.get(f"/task-runs/{run_id}/outputs").json()
        assert values == [
            {
                "taskRunId": run_id,
                "parameterName": "output",
                "type": "ARRAY",
                "subType": "INTEGER",
                "value": [{"index": 0, "value": 7}],
            }
        ]
        with zipfile.ZipFile(io.BytesIO(client.get(f"/task-runs/{run_id}/outputs.zip").content)) as archive:
            assert sorted(archive.namelist()) == ["output/0", "output/array.yml"]
        assert client.get(f"/task-runs/{run_id}/output/output/indexes?value=0").content == b"7"
        error_of(
            client.get(f"/task-runs/{run_id}/output/output/indexes?value=1"),
            404,
            "APPE-storage-reading-file-error",
        )
        error_of(client.get(f"/task-runs/{run_id}/output/stolen"), 404, "APPE-internal-parameter-not-found")
        error_of(put(client, run_id, "input", [{"index": 0, "value": 8}]), 403, STATE)
