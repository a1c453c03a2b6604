"""Project-wide fixtures: a fresh database per test on SQLite and on a real PostgreSQL.

Passwords are hashed cheaply in the test processes (argon2 at its lowest cost instead of 3 passes over
64 MiB: the suite makes thousands of accounts and logins, ~0.2 s of two cores each at the production cost);
``runyard`` processes the tests start hash at the production cost, which tests/security/test_login_limits.py
checks, and its login flood runs at that cost.

PostgreSQL comes from ``$RUNYARD_TEST_POSTGRES_URL`` (``scripts/test`` starts a cluster and sets it); when
that is unset, the first test that needs it starts a throwaway cluster for the session. Tests that use no
database never start one. Tests that use PostgreSQL are marked ``postgres``: ``pytest -m "not postgres"``
leaves them out.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from runyard.auth.users import use_password_hasher
from support import postgres
from support.databases import POSTGRES_URL_VARIABLE, fresh_postgres_database, unavailable

BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: the test uses the PostgreSQL server")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _uses_postgres(item):
            item.add_marker(pytest.mark.postgres)


def _uses_postgres(item: pytest.Item) -> bool:
    names: list[str] = getattr(item, "fixturenames", [])
    if "postgres_url" in names or "postgres_server_url" in names:
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in callspec.params.values()


#: argon2id at the lowest cost it takes (one pass over 8 KiB, one lane): well under a millisecond.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Accounts made in this process (``create_admin``, in-process servers) hash at the cheap cost."""
    production = use_password_hasher(CHEAP_HASHER)
    yield
    use_password_hasher(production)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """SQLAlchemy URL of the PostgreSQL server's ``postgres`` database (shared: create your own databases)."""
    configured = os.environ.get(POSTGRES_URL_VARIABLE)
    if configured:
        yield configured
        return
    try:
        cluster = postgres.start()
    except postgres.PostgresUnavailable as error:
        unavailable(f"{POSTGRES_URL_VARIABLE} is unset and no cluster could be started: {error}")
    try:
        yield cluster.url
    finally:
        postgres.stop(cluster.directory)


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """SQLAlchemy URL (``postgresql+psycopg://``) of a new empty PostgreSQL database, dropped afterwards."""
    with fresh_postgres_database(postgres_server_url) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLAlchemy URL of a new empty database, once per backend: SQLite (a file) and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'runyard.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder every task may write to (tasks run as their owner's account, not as the test's)."""
    folder = Path(tempfile.mkdtemp(prefix="runyard-shared-"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder)
