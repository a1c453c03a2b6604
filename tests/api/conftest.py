"""One live server per test module and backend (SQLite, PostgreSQL); tests make their own users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.server import LiveServer, backend_server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with backend_server(request, tmp_path_factory.mktemp("server")) as started:
        yield started
