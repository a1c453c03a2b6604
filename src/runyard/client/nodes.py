"""Nodes and node sources: anyone lists them; admins lock, unlock and hand out access tokens, and add and
remove node sources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runyard.client.documents import Node, NodeSource
from runyard.client.transport import Call, json_body, no_body, operation, segment


class NodesApi:
    @operation
    def list_nodes(self) -> Call[list[Node]]:
        return Call("GET", "/nodes", json_body)

    @operation
    def list_node_sources(self) -> Call[list[NodeSource]]:
        return Call("GET", "/node-sources", json_body)

    @operation
    def add_node_source(
        self, name: str, type: str, options: Mapping[str, Any] | None = None
    ) -> Call[NodeSource]:
        """Start a node source of a built-in type (``local``, ``dask``, ``slurm``) and keep it across
        restarts (admins only); ``options`` are its type's (``{"nodes": 2}``, ``{"scheduler": "tcp://…"}``)."""
        body = {"name": name, "type": type, "options": dict(options or {})}
        return Call("POST", "/node-sources", json_body, json=body)

    @operation
    def remove_node_source(self, name: str) -> Call[None]:
        """Its nodes leave, what they ran runs again elsewhere (admins; not a source of the config file)."""
        return Call("DELETE", f"/node-sources/{segment(name)}", no_body)

    @operation
    def lock_node(self, node: str) -> Call[Node]:
        """The node finishes its current task and takes no other until unlocked (admins only)."""
        return Call("POST", f"{_node(node)}/lock", json_body)

    @operation
    def unlock_node(self, node: str) -> Call[Node]:
        return Call("POST", f"{_node(node)}/unlock", json_body)

    @operation
    def add_node_token(self, node: str, token: str) -> Call[Node]:
        """From now on the node only runs tasks whose ``NODE_ACCESS_TOKEN`` it holds (admins only)."""
        return Call("PUT", f"{_node(node)}/tokens/{segment(token)}", json_body)

    @operation
    def remove_node_token(self, node: str, token: str) -> Call[None]:
        return Call("DELETE", f"{_node(node)}/tokens/{segment(token)}", no_body)


def _node(node: str) -> str:
    return f"/nodes/{segment(node)}"
