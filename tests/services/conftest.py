"""A live server per test module and backend, with nodes enough for services to reserve some."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.client import Client
from support.docker import docker_daemon
from support.server import LiveServer, backend_server, live_server
from support.service_accounts import reachable_server

NODES = 4


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with backend_server(request, tmp_path_factory.mktemp("server"), nodes=NODES) as started:
        yield started


@pytest.fixture(scope="module")
def sqlite_server() -> Iterator[LiveServer]:
    """One SQLite server per module, for the shipped services' tests (the store is not what they test),
    in a folder the accounts of packaged servers (postgres, mysql) can reach."""
    with reachable_server(NODES) as started:
        yield started


@pytest.fixture(scope="module")
def private_server() -> Iterator[LiveServer]:
    """A server whose data folder sits under a folder only root may traverse (a clone in /root, a
    ``mktemp -d`` folder): services must start all the same (finding 11). A short path: the databases'
    sockets live under the data folder, and pytest's own folders can make them longer than a socket
    path may be."""
    with tempfile.TemporaryDirectory(prefix="runyard-") as root:
        os.chmod(root, 0o700)
        with live_server(Path(root) / "server", nodes=2) as started:
            yield started


@pytest.fixture
def client(sqlite_server: LiveServer) -> Iterator[Client]:
    """The SDK as a new user of ``sqlite_server``."""
    _, token = sqlite_server.new_user()
    with Client(sqlite_server.url, token) as client:
        yield client


@pytest.fixture(scope="module")
def docker_server() -> Iterator[LiveServer]:
    """A server of its own whose tasks see the daemon's ``DOCKER_HOST`` (set before it starts), with the
    images of the shipped services."""
    images = ["postgresql", "mariadb", "zookeeper", "notebooks"]
    with docker_daemon(images), reachable_server(NODES) as started:
        yield started
