"""One live server per test module and backend (SQLite, PostgreSQL); tests make their own users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.databases import fresh_postgres_database
from support.server import LiveServer, live_server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("server")
    if request.param == "sqlite":
        with live_server(data_dir) as started:
            yield started
        return
    server_url: str = request.getfixturevalue("postgres_server_url")
    with fresh_postgres_database(server_url) as url, live_server(data_dir, url) as started:
        yield started
