"""Sources added at run time are stored: a restarted server starts them again (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from node_sources.test_runtime import nodes_of, sources
from runyard.client import Client
from support.server import live_server


def test_a_restarted_server_starts_its_run_time_sources_again(database_url: str, tmp_path: Path) -> None:
    with (
        live_server(tmp_path, database_url, nodes=1) as server,
        Client(server.url, server.admin_token) as admin,
    ):
        admin.add_node_source("later", "local", {"nodes": 2})
        added = sources(admin)["later"]
    with (
        live_server(tmp_path, database_url, nodes=1) as server,
        Client(server.url, server.admin_token) as admin,
    ):
        again = sources(admin)
        assert list(again) == ["local", "later"]
        assert {
            key: again["later"][key] for key in ("type", "origin", "state", "options", "added_by", "added_at")
        } == {key: added[key] for key in ("type", "origin", "state", "options", "added_by", "added_at")}
        assert [n["name"] for n in nodes_of(admin, "later", 2)] == ["later-1", "later-2"]
        admin.remove_node_source("later")
    with (
        live_server(tmp_path, database_url, nodes=1) as server,
        Client(server.url, server.admin_token) as admin,
    ):
        assert list(sources(admin)) == ["local"]
