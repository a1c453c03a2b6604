"""The catalog tables the migrations create are the tables the code declares."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from runyard.store.schema import metadata


def test_the_migration_creates_the_declared_catalog_tables(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in differences if "catalog_" in repr(d)] == []
