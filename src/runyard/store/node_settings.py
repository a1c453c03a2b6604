"""What the scheduler keeps about nodes across restarts: locks and access tokens given at run time."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from runyard.store.schema import node_settings


@dataclass
class NodeSetting:
    locked_by: str | None = None
    locked_at: float | None = None
    tokens: set[str] = field(default_factory=set)


def load_node_settings(connection: sa.Connection) -> dict[str, NodeSetting]:
    return {
        row.node: NodeSetting(row.locked_by, row.locked_at, set(row.tokens))
        for row in connection.execute(sa.select(node_settings))
    }


def save_node_setting(connection: sa.Connection, node: str, setting: NodeSetting | None) -> None:
    """Store ``node``'s setting (``None``: forget it, the node is gone for good)."""
    connection.execute(sa.delete(node_settings).where(node_settings.c.node == node))
    if setting is None:
        return
    connection.execute(
        sa.insert(node_settings).values(
            node=node, locked_by=setting.locked_by, locked_at=setting.locked_at, tokens=sorted(setting.tokens)
        )
    )
