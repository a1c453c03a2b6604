"""One live server per backend (SQLite, PostgreSQL) for the package, and SDK clients on it.

Tests share the server: they make their own users, buckets and jobs with names no other test uses.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runyard.client import Client
from support.server import LiveServer, backend_server


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with backend_server(request, tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture(scope="package")
def admin(server: LiveServer) -> Iterator[Client]:
    """A client logged in as the server's admin."""
    with Client(server.url, server.admin_token) as client:
        yield client


@pytest.fixture(scope="module")
def alice(server: LiveServer) -> Iterator[Client]:
    """A client logged in as a user without the admin role (the same one for the whole module)."""
    _, token = server.new_user()
    with Client(server.url, token) as client:
        yield client
