"""Attack tests: one live server per test module and backend (SQLite, PostgreSQL); hostile users made
per test with ``support.hostile.hostile_users``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.server import LiveServer, backend_server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with backend_server(request, tmp_path_factory.mktemp("server")) as started:
        yield started
