"""Node sources an admin added at run time: kept so that they are started again after a restart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.store.schema import node_sources


@dataclass(frozen=True)
class StoredSource:
    name: str
    type: str
    options: dict[str, Any]
    added_by: str
    added_at: float


def load_node_sources(connection: sa.Connection) -> list[StoredSource]:
    rows = connection.execute(sa.select(node_sources).order_by(node_sources.c.added_at))
    return [StoredSource(row.name, row.type, dict(row.options), row.added_by, row.added_at) for row in rows]


def save_node_source(connection: sa.Connection, source: StoredSource) -> None:
    connection.execute(
        sa.insert(node_sources).values(
            name=source.name,
            type=source.type,
            options=source.options,
            added_by=source.added_by,
            added_at=source.added_at,
        )
    )


def delete_node_source(connection: sa.Connection, name: str) -> None:
    connection.execute(sa.delete(node_sources).where(node_sources.c.name == name))
