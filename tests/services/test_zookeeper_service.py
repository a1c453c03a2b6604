"""The Zookeeper service through the SDK: ``ruok`` answered ``imok``, then finished."""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

from runyard.client import Client
from runyard.client.documents import ServiceInstance
from runyard.services.engines import RunState
from runyard.services.engines.docker import DockerEngine
from runyard.services.zookeeper import four_letter_word
from support.server import LiveServer
from support.service_lifecycle import act, endpoint, finish, process_pid, start


def port_of(instance: ServiceInstance) -> int:
    address = urlsplit(endpoint(instance)["url"])
    assert address.scheme == "tcp" and address.hostname == "127.0.0.1" and address.port
    return address.port


def test_start_ask_finish(client: Client) -> None:
    instance = start(client, "Zookeeper", {})
    assert instance["actions"] == ["Finish_Zookeeper"]
    port = port_of(instance)
    assert four_letter_word(port, b"ruok") == b"imok"
    assert b"Mode: standalone" in four_letter_word(port, b"stat")
    assert b"not in the whitelist" in four_letter_word(port, b"conf")
    pid = process_pid(instance)
    finish(client, instance, "Finish_Zookeeper")
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_finish_from_error(client: Client) -> None:
    instance = start(client, "Zookeeper", {})
    os.killpg(process_pid(instance), 9)
    failed = client.wait_for_service_instance(instance["id"], timeout=10, until=["ERROR"])
    assert failed["status"] == "ERROR"
    act(client, failed, "Finish_Zookeeper", "FINISHED")


@pytest.mark.timeout(120, func_only=True)
def test_docker_engine(docker_server: LiveServer) -> None:
    _, token = docker_server.new_user()
    name = f"zookeeper-test-{uuid.uuid4().hex[:12]}"  # the daemon outlives the server, whose ids restart
    with Client(docker_server.url, token) as client:
        try:
            instance = start(client, "Zookeeper", {"ENGINE": "docker", "INSTANCE_NAME": name})
            assert instance["deployments"][0]["engine"] == "docker"
            assert four_letter_word(port_of(instance), b"ruok") == b"imok"
            finish(client, instance, "Finish_Zookeeper")
            assert DockerEngine().state(name) == RunState.MISSING
        finally:
            DockerEngine().stop(name)
