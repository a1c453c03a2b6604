"""Sources added at run time are stored: a restarted server starts them again (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from node_sources.test_runtime import nodes_of, sources
from runyard.client import Client
from runyard.store.database import connect
from runyard.store.node_sources import StoredSource, load_node_sources
from runyard.store.schema import node_sources
from support.server import live_server

KEPT = ("type", "origin", "state", "options", "added_by", "added_at")


def test_a_restarted_server_starts_its_run_time_sources_again(database_url: str, tmp_path: Path) -> None:
    with (
        live_server(tmp_path, database_url, nodes=1) as server,
        Client(server.url, server.admin_token) as admin,
    ):
        admin.add_node_source("later", "local", {"nodes": 2})
        admin.add_node_source("broken", "local", {"nodes": 1})
        added = sources(admin)["later"]
    _break(database_url, "broken")
    with (
        live_server(tmp_path, database_url, nodes=1) as server,
        Client(server.url, server.admin_token) as admin,
    ):
        again = sources(admin)
        assert list(again) == ["local", "later", "broken"]
        later, first = dict(again["later"]), dict(added)
        assert {key: later[key] for key in KEPT} == {key: first[key] for key in KEPT}
        assert [n["name"] for n in nodes_of(admin, "later", 2)] == ["later-1", "later-2"]
        # a stored source its type refuses now does not stop the server: listed with the reason, removable
        assert again["broken"]["state"] == "UNDEPLOYED"
        assert "nodes: Input should be greater than or equal to 1" in (again["broken"]["error"] or "")
        admin.remove_node_source("later")
        admin.remove_node_source("broken")
    assert _stored(database_url) == []  # removed for good: not started again


def _stored(database_url: str) -> list[StoredSource]:
    engine = connect(database_url)
    with engine.connect() as connection:
        stored = load_node_sources(connection)
    engine.dispose()
    return stored


def _break(database_url: str, name: str) -> None:
    """What a newer version refusing the stored options would do: they are wrong now."""
    engine = connect(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.update(node_sources).where(node_sources.c.name == name).values(options={"nodes": 0})
        )
    engine.dispose()
