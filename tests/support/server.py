"""A real runyard server (uvicorn on a loopback socket) in this process, for API, CLI and SDK tests."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from runyard.api.app import create_app
from runyard.auth import add_user, get_user
from runyard.client import Client
from runyard.server.config import ServerConfig
from runyard.store.database import connect
from support.databases import fresh_postgres_database
from support.server_process import SERVICE_PORTS

ADMIN = "root"
PASSWORD = "correct horse battery"
_names = itertools.count(1)


@dataclass
class LiveServer:
    url: str
    """``http://127.0.0.1:PORT`` (the API is under ``/api/v1``)."""
    data_dir: Path
    database_url: str | None
    admin_token: str
    announced: list[str] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def login(self, name: str, password: str = PASSWORD) -> str:
        answer = httpx.post(f"{self.api}/sessions", json={"username": name, "password": password})
        answer.raise_for_status()
        token: str = answer.json()["token"]
        return token

    def new_user(self, *, admin: bool = False, prefix: str = "user") -> tuple[str, str]:
        """A fresh account (unique name); returns (name, token)."""
        name = f"{prefix}{next(_names)}"
        answer = httpx.post(
            f"{self.api}/users",
            json={"name": name, "password": PASSWORD, "admin": admin},
            headers=bearer(self.admin_token),
        )
        answer.raise_for_status()
        return name, self.login(name)

    def new_client(self) -> Client:
        """A fresh account's SDK client (``with server.new_client() as client:``)."""
        _, token = self.new_user()
        return Client(self.url, token)

    def kill_services(self) -> None:
        """Kill every active service instance: services outlive their server, not the tests."""
        for _ in range(3):  # anew: a test may have made tokens short-lived (a second or less)
            with self.client(self.login(ADMIN)) as admin:
                active = admin.get("/service-instances", params={"status": "active"})
                if active.status_code == 401:
                    continue  # FastAPI builds a route on its first request: that one may outlive the token
                active.raise_for_status()
                for instance in active.json():
                    admin.post(f"/service-instances/{instance['id']}/kill")
                return
        raise RuntimeError("every admin session expired before the service instances could be listed")

    def client(self, token: str | None = None, **options: Any) -> httpx.Client:
        """An httpx client on ``/api/v1`` sending ``token`` as a bearer token."""
        headers = bearer(token) if token else {}
        return httpx.Client(base_url=self.api, headers=headers, timeout=30, **options)


def wait_for(client: httpx.Client, job_id: int, timeout: float = 60) -> dict[str, Any]:
    """The job once it has ended, read after its event stream closed (it closes at the job's end)."""
    with client.stream("GET", f"/jobs/{job_id}/events", timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                json.loads(line[5:])
    job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
    return job


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_admin(data_dir: Path, database_url: str | None) -> None:
    """What ``runyard user add root --admin`` does (once per store), before the server starts."""
    engine = connect(database_url or f"sqlite:///{data_dir / 'runyard.db'}")
    with engine.begin() as connection:
        if get_user(connection, ADMIN) is None:
            add_user(connection, ADMIN, PASSWORD, admin=True)
    engine.dispose()


@contextmanager
def live_server(data_dir: Path, database_url: str | None = None, **config: Any) -> Iterator[LiveServer]:
    """Start a server on a free loopback port; stop it (and its nodes) on exit."""
    data_dir.mkdir(parents=True, exist_ok=True)
    create_admin(data_dir, database_url)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    # the portal is NiceGUI's, one per process: in-process servers go without it (tests/portal runs real ones)
    config.setdefault("portal", False)
    config.setdefault("service_ports", SERVICE_PORTS)
    settings = ServerConfig(port=port, data_dir=data_dir, database_url=database_url, **config)
    announced: list[str] = []
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, announce=announced.append), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    live = LiveServer(f"http://127.0.0.1:{port}", data_dir, database_url, "", announced)
    try:
        live.admin_token = live.login(ADMIN)
        yield live
    finally:
        if live.admin_token:
            live.kill_services()
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


@contextmanager
def backend_server(request: pytest.FixtureRequest, data_dir: Path, **config: Any) -> Iterator[LiveServer]:
    """A live server on the backend ``request.param`` names: ``sqlite``, or ``postgresql``."""
    if request.param == "sqlite":
        with live_server(data_dir, **config) as started:
            yield started
        return
    server_url: str = request.getfixturevalue("postgres_server_url")
    with fresh_postgres_database(server_url) as url, live_server(data_dir, url, **config) as started:
        yield started
