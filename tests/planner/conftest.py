"""Planner tests: a platform per module and backend (SQLite, PostgreSQL) that planners on an injected
clock drive; a live server per module for the REST, SDK and CLI tests. Tests make their own users,
buckets and plans."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runyard.credentials import Vault
from runyard.platform import Platform
from runyard.settings import Settings
from support.databases import fresh_postgres_database
from support.server import LiveServer, live_server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    data_dir = tmp_path_factory.mktemp("platform")
    if request.param == "sqlite":
        with Platform(Settings(data_dir=data_dir, nodes=1)) as started:
            yield started
        return
    server_url: str = request.getfixturevalue("postgres_server_url")
    with (
        fresh_postgres_database(server_url) as url,
        Platform(Settings(data_dir, database_url=url, nodes=1)) as started,
    ):
        yield started


@pytest.fixture(scope="module")
def vault(platform: Platform) -> Vault:
    return Vault(platform.settings.data_dir / "credentials.key")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started
