"""The Zookeeper service through the SDK: ``ruok`` answered ``imok``, then finished."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

from runyard.client import Client
from runyard.client.documents import ServiceInstance
from runyard.services.zookeeper import four_letter_word
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
