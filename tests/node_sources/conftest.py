"""A live server with two local node sources from its config (``alpha`` and ``beta``, a node each), shared by
the package, and SDK clients on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runyard.client import Client
from runyard.settings import NodeSourceConfig
from support.server import LiveServer, live_server

CONFIGURED = (
    NodeSourceConfig("alpha", "local", {"nodes": 1}),
    NodeSourceConfig("beta", "local", {"nodes": 1}),
)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server"), node_sources=CONFIGURED) as started:
        yield started


@pytest.fixture(scope="package")
def admin(server: LiveServer) -> Iterator[Client]:
    with Client(server.url, server.admin_token) as client:
        yield client


@pytest.fixture(scope="package")
def alice(server: LiveServer) -> Iterator[Client]:
    """A user without the admin role."""
    with server.new_client() as client:
        yield client
