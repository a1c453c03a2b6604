"""A migrated store per test and backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from runyard.store.database import connect


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = connect(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction for the whole test (committed, so a failing statement shows as it would in a route)."""
    with engine.begin() as connection:
        yield connection
