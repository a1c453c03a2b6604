"""The App Engine's REST surface as a whole: ping, the task routes of Cytomine's table (anchor §2.2)
answering in its error envelope, out of runyard's OpenAPI document, and bodies past the limit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx

from appengine.conftest import UPLOAD_LIMIT
from appengine.helpers import app_engine
from support.server import LiveServer

UNKNOWN = str(uuid.uuid4())
#: The task routes of Cytomine's table, on a task that does not exist: each answers 404
#: ``APPE-internal-task-not-found`` (a route that did not exist would answer runyard's plain 404).
TASK_ROUTES = [
    ("GET", f"/tasks/{UNKNOWN}"),
    ("GET", "/tasks/com.unknown.task/1.0.0"),
    ("DELETE", "/tasks/com.unknown.task/1.0.0"),
    ("GET", f"/tasks/{UNKNOWN}/inputs"),
    ("GET", "/tasks/com.unknown.task/1.0.0/inputs"),
    ("GET", f"/tasks/{UNKNOWN}/outputs"),
    ("GET", "/tasks/com.unknown.task/1.0.0/outputs"),
    ("GET", f"/tasks/{UNKNOWN}/descriptor.yml"),
    ("GET", "/tasks/com.unknown.task/1.0.0/descriptor.yml"),
    ("GET", "/tasks/com.unknown.task/1.0.0/logo"),
]


def test_ping_answers_without_a_token(server: LiveServer) -> None:
    answer = httpx.get(f"{server.url}/ping", timeout=60)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "UP"
    assert body["service"] == "app-engine"
    assert body["timestamp"].endswith("+00:00")


def test_every_task_route_answers_in_cytomines_envelope(server: LiveServer) -> None:
    with app_engine(server) as client:
        assert client.get("/tasks").json() == [] or isinstance(client.get("/tasks").json(), list)
        for method, path in TASK_ROUTES:
            answer = client.request(method, path)
            assert answer.status_code == 404, (method, path, answer.text)
            body = answer.json()
            assert set(body) == {"errorCode", "message", "details"}, (method, path)
            assert body["errorCode"] == "APPE-internal-task-not-found", (method, path)
            assert body["details"] == {"type": "empty"}


def test_every_task_route_needs_a_caller(server: LiveServer) -> None:
    for method, path in [("GET", "/tasks"), ("POST", "/tasks"), *TASK_ROUTES]:
        answer = httpx.request(method, f"{server.url}/app-engine/v1{path}")
        assert answer.status_code == 401, (method, path)
        assert answer.json()["errorCode"].startswith("APPE-runyard-"), (method, path)


def test_the_app_engine_is_not_in_runyards_openapi(server: LiveServer) -> None:
    document = httpx.get(f"{server.api}/openapi.json").json()
    assert not [path for path in document["paths"] if "app-engine" in path or path.startswith("/tasks")]


def test_a_body_past_the_limit_is_refused_streamed_or_declared(server: LiveServer) -> None:
    limit = UPLOAD_LIMIT

    def chunks() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="task"; filename="t.zip"\r\n\r\n'
        for _ in range(limit // 2**20 + 2):
            yield bytes(2**20)
        yield b"\r\n--b--\r\n"

    with app_engine(server) as client:
        streamed = client.post(
            "/tasks", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
        assert streamed.status_code == 413, streamed.text
        assert streamed.json()["errorCode"] == "APPE-internal-bundle-validation-error"
        declared = client.post("/tasks", files={"task": ("t.zip", bytes(limit + 1), "application/zip")})
        assert declared.status_code == 413


def test_only_the_uploads_take_bodies_past_the_apis_limit(server: LiveServer) -> None:
    """A bundle between ``max_body_bytes`` (16 MiB) and the uploads' limit is read (and judged: not a
    zip); the same size as JSON, or as multipart to a route that reads no file, is refused at the door
    (a JSON body is read whole into memory)."""
    size = 20 * 2**20
    with app_engine(server) as client:
        bundle = client.post("/tasks", files={"task": ("t.zip", bytes(size), "application/zip")})
        assert bundle.status_code == 400, bundle.text
        assert bundle.json()["errorCode"] == "APPE-internal-bundle-validation-error"
        as_json = client.post(
            "/task-runs/00000000-0000-0000-0000-000000000000/input-provisions",
            content=b"[" + b" " * size + b"]",
            headers={"Content-Type": "application/json"},
        )
        assert as_json.status_code == 413, as_json.text
        elsewhere = client.post("/task-runs/x/execution/started", files={"f": ("f", bytes(size))})
        assert elsewhere.status_code == 413, elsewhere.text
        spoofed = client.post("/tasks", content=bytes(size), headers={"Content-Type": "application/zip"})
        assert spoofed.status_code == 413, spoofed.text
