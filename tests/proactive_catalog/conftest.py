"""One live server for the package (SQLite: the store is the native API's, tested on both backends there),
and two users calling it as ProActive's clients do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from proactive_catalog.callers import Caller, proactive_client
from support.server import LiveServer, live_server


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server"), nodes=4) as started:
        yield started


@pytest.fixture
def alice(server: LiveServer) -> Iterator[Caller]:
    name, token = server.new_user(prefix="alice")
    with proactive_client(server, token) as client:
        yield Caller(name, token, client)


@pytest.fixture
def bob(server: LiveServer) -> Iterator[Caller]:
    name, token = server.new_user(prefix="bob")
    with proactive_client(server, token) as client:
        yield Caller(name, token, client)
