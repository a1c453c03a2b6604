"""The MySQL service (MariaDB) through the SDK: reached with Debian's ``mariadb`` client, paused, resumed,
finished; USER and PASSWORD only together; the docker engine with runyard's image."""

from __future__ import annotations

import os
import subprocess
import uuid
from urllib.parse import urlsplit

import pytest

from runyard.client import Client
from runyard.client.documents import ServiceInstance
from runyard.services.engines import RunState
from runyard.services.engines.docker import DockerEngine
from support.server import LiveServer
from support.service_lifecycle import FAST, act, endpoint, finish, port_is_free, process_pid, start

USER, PASSWORD, DATABASE = "bob", "pa'ss\"word", "shop"
NODES = 4


def port_of(instance: ServiceInstance) -> int:
    address = urlsplit(endpoint(instance)["url"])
    assert address.scheme == "mysql" and address.hostname == "127.0.0.1" and address.port
    return address.port


def sql(instance: ServiceInstance, statement: str, timeout: float = 10) -> str:
    """What ``mariadb`` prints for ``statement`` run as USER in DATABASE over TCP (no column names)."""
    command = ["mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", str(port_of(instance)), "-u", USER]
    command += [f"-p{PASSWORD}", "--connect-timeout=2", "-N", "-B", "-e", statement, DATABASE]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=timeout).stdout


def test_start_query_pause_resume_finish(client: Client) -> None:
    instance = start(client, "MySQL", {"USER": USER, "PASSWORD": PASSWORD, "DATABASE": DATABASE})
    assert instance["actions"] == ["Finish_MySQL", "Pause_MySQL"]
    sql(instance, "CREATE TABLE fruit (name text); INSERT INTO fruit VALUES ('apple')")
    assert sql(instance, "SELECT name FROM fruit") == "apple\n"

    act(client, instance, "Pause_MySQL", "PAUSED")
    with pytest.raises(subprocess.CalledProcessError):  # connected, but the server never answers
        sql(instance, "SELECT 1")
    act(client, instance, "Resume_MySQL", "RUNNING")
    assert sql(instance, "SELECT count(*) FROM fruit") == "1\n"

    pid = process_pid(instance)
    finish(client, instance, "Finish_MySQL")
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    with pytest.raises(subprocess.CalledProcessError):
        sql(instance, "SELECT 1")


def test_user_without_password_puts_the_instance_in_error(client: Client) -> None:
    started = client.start_service("MySQL", {"USER": USER, **FAST})
    failed = client.wait_for_service_instance(started["id"], timeout=60)
    assert failed["status"] == "ERROR" and not failed["deployments"]
    assert "USER and PASSWORD go together: give both or neither" in (failed["error"] or "")
    act(client, failed, "Finish_MySQL", "FINISHED")


def test_starts_under_a_folder_others_cannot_traverse(private_server: LiveServer) -> None:
    _, token = private_server.new_user()
    with Client(private_server.url, token) as client:
        instance = start(client, "MySQL", {"USER": USER, "PASSWORD": PASSWORD, "DATABASE": DATABASE})
        assert sql(instance, "SELECT current_user()").startswith(USER)
        finish(client, instance, "Finish_MySQL")


@pytest.mark.timeout(120, func_only=True)
def test_docker_engine(docker_server: LiveServer) -> None:
    _, token = docker_server.new_user()
    name = f"mysql-test-{uuid.uuid4().hex[:12]}"  # the daemon outlives the server, whose ids restart
    variables = {"ENGINE": "docker", "INSTANCE_NAME": name, "USER": USER, "PASSWORD": PASSWORD}
    with Client(docker_server.url, token) as client:
        try:
            instance = start(client, "MySQL", {**variables, "DATABASE": DATABASE})
            assert instance["deployments"][0]["engine"] == "docker"
            sql(instance, "CREATE TABLE fruit (name text); INSERT INTO fruit VALUES ('apple')")
            act(client, instance, "Pause_MySQL", "PAUSED")
            with pytest.raises(subprocess.CalledProcessError):  # the proxy connects; the server is frozen
                sql(instance, "SELECT 1")
            act(client, instance, "Resume_MySQL", "RUNNING")
            assert sql(instance, "SELECT name FROM fruit") == "apple\n"
            finish(client, instance, "Finish_MySQL")
            assert port_is_free(port_of(instance))
            assert DockerEngine().state(name) == RunState.MISSING
        finally:
            DockerEngine().stop(name)
