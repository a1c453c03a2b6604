"""A service outlives its server: kill -9 of the server and its nodes; after a restart it is still RUNNING,
reachable, and finishes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from runyard.client import Client
from support.server_process import add_user, free_port, server_process
from support.service_lifecycle import finish, start, url

USER, PASSWORD = "ops", "a long enough password"


def _client(port: int) -> Client:
    client = Client(f"http://127.0.0.1:{port}")
    client.login(USER, PASSWORD)
    return client


def test_instance_survives_a_killed_server_and_finishes_after_restart(tmp_path: Path) -> None:
    add_user(tmp_path, USER, PASSWORD)
    port = free_port()
    with server_process(tmp_path, port, "--nodes", "3") as process, _client(port) as client:
        instance = start(client, "Static_HTTP", {"CONTENT": "still here"})
        endpoint = url(instance)
        os.killpg(process.pid, signal.SIGKILL)  # the server and its node agents, at once
        process.wait(10)
    assert httpx.get(endpoint).text == "still here"  # the service lives on its own
    with server_process(tmp_path, port, "--nodes", "3"), _client(port) as client:
        again = client.get_service_instance(instance["id"])
        assert again["status"] == "RUNNING" and again["node_tokens"]
        assert httpx.get(endpoint).text == "still here"
        finish(client, again, "Finish_Static_HTTP")
    with pytest.raises(httpx.ConnectError):
        httpx.get(endpoint)
