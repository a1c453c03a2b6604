"""Nodes and node sources: anyone lists them; admins lock, unlock and hand out access tokens."""

from __future__ import annotations

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
