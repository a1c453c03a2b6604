"""``/app-engine/v1/stores…`` and ``POST tasks/{namespace}/{version}/install`` against a live server and a
real Docker daemon. The app store is a stand-in (Cytomine's App Store cannot run here): a loopback HTTP
server serving bundles at ``/api/v1/tasks/{namespace}/{version}/bundle.zip``, recording the paths asked."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from appengine.conftest import UPLOAD_LIMIT
from appengine.helpers import app_engine, docker_host, renamed_bundle
from support.server import LiveServer, bearer

__all__ = ["docker_host"]


class StandInStore(ThreadingHTTPServer):
    """Answers ``GET path`` with ``routes[path]``: bytes (200), or an int (that status, empty)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, bytes | int] = {}
        self.asked: list[str] = []

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def serve(self, namespace: str, version: str, answer: bytes | int) -> None:
        self.routes[f"/api/v1/tasks/{namespace}/{version}/bundle.zip"] = answer


class _Handler(BaseHTTPRequestHandler):
    server: StandInStore

    def do_GET(self) -> None:
        self.server.asked.append(self.path)
        answer = self.server.routes.get(self.path, 404)
        if isinstance(answer, int):
            self.send_response(answer)
            if answer == 302:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere.zip")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def store() -> Iterator[StandInStore]:
    server = StandInStore()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _error(answer: Any, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.json()["errorCode"] == code, answer.text
    message: str = answer.json()["message"]
    return message


def _remove_every_store(server: LiveServer) -> None:
    with app_engine(server) as admin:
        for found in admin.get("/stores").json():
            assert admin.delete(f"/stores/{found['id']}").status_code == 200


def test_stores_are_added_listed_made_default_and_removed_by_an_admin(server: LiveServer) -> None:
    _remove_every_store(server)
    with app_engine(server) as admin:
        assert _error(admin.get("/stores/default"), 404, "APPE-appstore-no-default")
        first = admin.post("/stores", json={"name": "first", "host": "http://127.0.0.1:1/"}).json()
        assert first == {
            "id": first["id"],
            "name": "first",
            "host": "http://127.0.0.1:1",
            "defaultStore": True,
        }
        second = admin.post("/stores", json={"name": "second", "host": "https://apps.example/store"}).json()
        assert second["defaultStore"] is False, "the first store stays the default"
        third = admin.post(
            "/stores", json={"name": "third", "host": "http://[::1]:8080", "defaultStore": True}
        ).json()
        assert admin.get("/stores/default").json() == third
        assert [s["defaultStore"] for s in admin.get("/stores").json()] == [False, False, True]
        assert admin.put(f"/stores/{second['id']}/default").json() == second | {"defaultStore": True}
        assert [s["name"] for s in admin.get("/stores").json() if s["defaultStore"]] == ["second"]
        assert admin.delete(f"/stores/{second['id']}").status_code == 200
        assert _error(admin.get("/stores/default"), 404, "APPE-appstore-no-default")
        assert [s["name"] for s in admin.get("/stores").json()] == ["first", "third"]
        for answer in (admin.put(f"/stores/{second['id']}/default"), admin.delete("/stores/no-such-store")):
            assert _error(answer, 404, "APPE-internal-store")


@pytest.mark.parametrize(
    "body",
    [
        {"host": "http://127.0.0.1:1"},
        {"name": " ", "host": "http://127.0.0.1:1"},
        {"name": "x" * 256, "host": "http://127.0.0.1:1"},
        {"name": "n", "host": 5},
        {"name": "n", "host": "file:///etc/passwd"},
        {"name": "n", "host": "ftp://apps.example"},
        {"name": "n", "host": "http://"},
        {"name": "n", "host": "http://user:secret@apps.example"},
        {"name": "n", "host": "http://apps.example/?next=/evil"},
        {"name": "n", "host": "http://apps.example:port"},
        {"name": "n", "host": "http://apps.example/a b"},
        {"name": "n", "host": "http://apps.example", "defaultStore": "yes"},
        ["name", "host"],
    ],
)
def test_bad_store_data_is_refused_and_nothing_stored(server: LiveServer, body: Any) -> None:
    with app_engine(server) as admin:
        before = admin.get("/stores").json()
        _error(admin.post("/stores", json=body), 400, "APPE-internal-invalid-store-data")
        assert admin.get("/stores").json() == before


def test_a_store_name_or_host_taken_is_409_and_only_admins_change_stores(server: LiveServer) -> None:
    _remove_every_store(server)
    _, token = server.new_user()
    with app_engine(server) as admin, app_engine(server, token) as user:
        kept = admin.post("/stores", json={"name": "kept", "host": "http://127.0.0.1:2"}).json()
        for body in (
            {"name": "kept", "host": "http://127.0.0.1:3"},
            {"name": "other", "host": "http://127.0.0.1:2/"},
        ):
            _error(admin.post("/stores", json=body), 409, "APPE-internal-store-exists")
        _error(admin.post("/stores", content=b"{not json"), 400, "APPE-internal-invalid-store-data")
        for answer in (
            user.post("/stores", json={"name": "mine", "host": "http://127.0.0.1:4", "defaultStore": True}),
            user.put(f"/stores/{kept['id']}/default"),
            user.delete(f"/stores/{kept['id']}"),
        ):
            _error(answer, 403, "APPE-runyard-forbidden")
        assert user.get("/stores").json() == [kept]
        assert user.get("/stores/default").json() == kept


@pytest.fixture
def default_store(server: LiveServer, store: StandInStore) -> StandInStore:
    _remove_every_store(server)
    with app_engine(server) as admin:
        assert admin.post("/stores", json={"name": "stand-in", "host": store.host}).status_code == 200
    return store


def test_a_task_is_installed_from_the_default_store_as_its_upload_by_the_caller(
    server: LiveServer, default_store: StandInStore, docker_host: str
) -> None:
    bundle, namespace = renamed_bundle()
    default_store.serve(namespace, "1.0.0", bundle)
    _, token = server.new_user()
    with app_engine(server, token) as user:
        installed = user.post(f"/tasks/{namespace}/1.0.0/install")
        assert installed.status_code == 200, installed.text
        task = installed.json()
        assert (task["namespace"], task["version"]) == (namespace, "1.0.0")
        assert user.get(f"/tasks/{namespace}/1.0.0").json() == task
        again = user.post(f"/tasks/{namespace}/1.0.0/install")
        _error(again, 409, "APPE-internal-task-exists")
        # the installer owns it: they delete it, as an uploader would
        assert user.delete(f"/tasks/{namespace}/1.0.0").status_code == 200
    assert default_store.asked[-2:] == [f"/api/v1/tasks/{namespace}/1.0.0/bundle.zip"] * 2


def test_what_the_store_fails_to_serve_installs_nothing(
    server: LiveServer, default_store: StandInStore, docker_host: str
) -> None:
    other, other_namespace = renamed_bundle()
    _, namespace = renamed_bundle()
    default_store.serve(namespace, "1.0.0", other)  # another task than the one asked
    default_store.serve(namespace, "2.0.0", 302)  # a redirect elsewhere: not followed
    default_store.serve(namespace, "3.0.0", 500)
    default_store.serve(namespace, "4.0.0", b"not a zip at all")
    with app_engine(server) as admin:
        before = admin.get("/tasks").json()
        message = _error(
            admin.post(f"/tasks/{namespace}/1.0.0/install"), 502, "APPE-appstore-download-failure"
        )
        assert other_namespace in message and "nothing installed" in message
        for version, status in (("2.0.0", 302), ("3.0.0", 500), ("5.0.0", 404)):
            message = _error(
                admin.post(f"/tasks/{namespace}/{version}/install"), 502, "APPE-appstore-download-failure"
            )
            assert f"answered {status}" in message
        _error(admin.post(f"/tasks/{namespace}/4.0.0/install"), 400, "APPE-internal-bundle-validation-error")
        # past app_engine_max_upload_bytes (the servers here: UPLOAD_LIMIT): refused by its declared size
        default_store.serve(namespace, "6.0.0", bytes(UPLOAD_LIMIT + 1))
        too_large = admin.post(f"/tasks/{namespace}/6.0.0/install")
        message = _error(too_large, 502, "APPE-appstore-download-failure")
        assert "larger than app_engine_max_upload_bytes" in message
        assert admin.get("/tasks").json() == before
        assert not list((server.data_dir / "app-engine" / "uploads").glob("install-*"))


def test_an_install_asks_the_store_for_the_task_named_and_nothing_else(
    server: LiveServer, default_store: StandInStore
) -> None:
    """Only a task's namespace and version reach the store's URL: nothing that could name another path of
    the store's host (dot segments, a query)."""
    asked = len(default_store.asked)
    for namespace, version in (
        ("%2E%2E", "1.0.0"),
        ("a.b%3Fx=1", "1.0.0"),
        ("a.b", "%2E%2E"),
        ("a.b", "1.0"),
    ):
        # http.client sends the path as written (httpx would remove its dot segments)
        connection = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=30)
        try:
            path = f"/app-engine/v1/tasks/{namespace}/{version}/install"
            connection.request("POST", path, headers=bearer(server.admin_token))
            answer = connection.getresponse()
            assert answer.status == 400, answer.read()
            assert json.loads(answer.read())["errorCode"] == "APPE-internal-request-validation-error"
        finally:
            connection.close()
    assert len(default_store.asked) == asked


def test_an_install_without_a_default_store_or_from_one_down_fails_clearly(
    server: LiveServer, store: StandInStore
) -> None:
    _remove_every_store(server)
    with app_engine(server) as admin:
        _error(admin.post("/tasks/any.task/1.0.0/install"), 404, "APPE-appstore-no-default")
        admin.post("/stores", json={"name": "down", "host": "http://127.0.0.1:9"})  # discard: nothing listens
        message = _error(admin.post("/tasks/any.task/1.0.0/install"), 502, "APPE-appstore-download-failure")
        assert "127.0.0.1:9" in message
