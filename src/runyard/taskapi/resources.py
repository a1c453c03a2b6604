"""``rmapi``: the part of ProActive's resource manager client that tasks use: the nodes (as the job's owner
sees them: another user's job and task on a node are hidden) with their tokens, and node tokens.

A task's job token may not change nodes: it adds and removes tokens for the service instance its job runs
an action of (``PCA_INSTANCE_ID``), which is what ProActive's service workflows do with them (the platform
records the token with the instance and removes it when the instance ends). A node is named by its URL
(``PA_NODE_URL``, this task's node) or its name.
"""

from __future__ import annotations

from typing import Any

from runyard.taskapi.connection import TaskApiError, TaskConnection


class RmApi:
    def __init__(self, connection: TaskConnection) -> None:
        self._connection = connection

    def connect(self) -> None:
        self._connection.client  # noqa: B018 (checks the task's credentials)

    def disconnect(self) -> None:
        self._connection.close()

    def getNodes(self) -> list[dict[str, Any]]:
        """Every node: ``name``, ``url``, ``host``, ``state`` (free, busy, down, locked), ``tokens``..."""
        return [dict(node) for node in self._connection.client.list_nodes()]

    def listAliveNodeUrls(self) -> list[str]:
        return [node["url"] for node in self._connection.client.list_nodes() if node["state"] != "down"]

    def getNodeTokens(self, nodeUrl: str) -> list[str]:
        """The tokens of a node named by its URL or its name."""
        name = self._node(nodeUrl)
        for node in self._connection.client.list_nodes():
            if name in (node["name"], node["url"]):
                return list(node["tokens"])
        raise TaskApiError(f"rmapi.getNodeTokens: no node {nodeUrl}")

    def addNodeToken(self, nodeUrl: str, token: str) -> None:
        self._connection.client.add_service_node_token(
            self._instance("addNodeToken"), self._node(nodeUrl), str(token)
        )

    def removeNodeToken(self, nodeUrl: str, token: str) -> None:
        client = self._connection.client
        client.remove_service_node_token(self._instance("removeNodeToken"), str(token), self._node(nodeUrl))

    def _instance(self, method: str) -> int:
        value = str(self._connection.variable("PCA_INSTANCE_ID") or "").strip()
        if not value.isdigit():
            raise TaskApiError(
                f"rmapi.{method}: a task changes node tokens only for the service instance its job serves"
                " (no PCA_INSTANCE_ID variable)"
            )
        return int(value)

    def _node(self, node: Any) -> str:
        text = str(node)
        if text and text == str(self._connection.variable("PA_NODE_URL") or ""):
            return str(self._connection.variable("PA_NODE_NAME"))
        return text
