"""The PostgreSQL service through the SDK: a real server reached with psycopg, paused, resumed, finished;
two at once; refused variables; the docker engine with runyard's image."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

import psycopg
import pytest

from runyard.client import ApiError, Client
from runyard.client.documents import ServiceInstance
from runyard.services.engines import RunState
from runyard.services.engines.docker import DockerEngine
from support.server import LiveServer
from support.service_lifecycle import FAST, act, endpoint, finish, port_is_free, process_pid, start

USER, PASSWORD, DATABASE = "alice", "s3cret 'quoted\"", "shop"


def connect(instance: ServiceInstance, *, user: str = USER, dbname: str = DATABASE) -> psycopg.Connection:
    address = urlsplit(endpoint(instance)["url"])
    assert address.scheme == "postgresql" and address.hostname == "127.0.0.1"
    return psycopg.connect(
        host=address.hostname,
        port=address.port,
        user=user,
        password=PASSWORD,
        dbname=dbname,
        connect_timeout=2,
    )


def port_of(instance: ServiceInstance) -> int:
    port = urlsplit(endpoint(instance)["url"]).port
    assert port is not None
    return port


def test_start_query_pause_resume_finish(client: Client) -> None:
    instance = start(client, "PostgreSQL", {"USER": USER, "PASSWORD": PASSWORD, "DATABASE": DATABASE})
    assert instance["actions"] == ["Finish_PostgreSQL", "Pause_PostgreSQL"]
    with connect(instance) as db:
        db.execute("CREATE TABLE fruit (name text)")
        db.execute("INSERT INTO fruit VALUES ('apple')")
        db.commit()
        assert db.execute("SELECT name FROM fruit").fetchall() == [("apple",)]
        assert db.execute("SELECT current_user").fetchone() == (USER,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host="127.0.0.1", port=port_of(instance), user=USER, password="wrong", dbname=DATABASE
        )

    paused = act(client, instance, "Pause_PostgreSQL", "PAUSED")
    assert paused["actions"] == ["Finish_PostgreSQL", "Resume_PostgreSQL"]
    with pytest.raises(psycopg.OperationalError):
        connect(instance)  # the server is stopped: no answer within connect_timeout
    act(client, instance, "Resume_PostgreSQL", "RUNNING")
    with connect(instance) as db:
        assert db.execute("SELECT count(*) FROM fruit").fetchone() == (1,)

    pid = process_pid(instance)
    finish(client, instance, "Finish_PostgreSQL")
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    assert port_is_free(port_of(instance))


def test_two_instances_at_once_have_their_own_names_and_ports(client: Client) -> None:
    started = [client.start_service("PostgreSQL", {"PASSWORD": PASSWORD, **FAST}) for _ in range(2)]
    instances = [client.wait_for_service_instance(s["id"], timeout=60) for s in started]
    assert [i["status"] for i in instances] == ["RUNNING", "RUNNING"]
    names = {i["variables"]["INSTANCE_NAME"] for i in instances}
    assert len(names) == 2 and all(name.startswith("postgres-server-") for name in names)
    assert port_of(instances[0]) != port_of(instances[1])
    for instance in instances:
        with connect(instance, user="postgres", dbname="postgres") as db:
            assert db.execute("SELECT 1").fetchone() == (1,)
        pid = process_pid(instance)
        assert client.kill_service_instance(instance["id"])["status"] == "KILLED"
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)


@pytest.mark.parametrize(
    "variables",
    [
        {"PASSWORD": PASSWORD, "ENGINE": "podman"},
        {},
        {"PASSWORD": ""},
        {"PASSWORD": PASSWORD, "SERVICE_PORT": "x"},
    ],
)
def test_bad_variables_start_nothing(client: Client, variables: dict[str, str]) -> None:
    before = client.list_service_instances()
    with pytest.raises(ApiError) as refused:
        client.start_service("PostgreSQL", variables)
    assert refused.value.status == 400
    assert client.list_service_instances() == before


@pytest.mark.timeout(120, func_only=True)
def test_docker_engine(docker_server: LiveServer) -> None:
    _, token = docker_server.new_user()
    name = f"postgres-test-{uuid.uuid4().hex[:12]}"  # the daemon outlives the server, whose ids restart
    variables = {"ENGINE": "docker", "INSTANCE_NAME": name, "USER": USER, "PASSWORD": PASSWORD}
    with Client(docker_server.url, token) as client:
        try:
            instance = start(client, "PostgreSQL", {**variables, "DATABASE": DATABASE})
            assert instance["deployments"][0]["engine"] == "docker"
            with connect(instance) as db:
                db.execute("CREATE TABLE t (a int)")
                db.commit()
            act(client, instance, "Pause_PostgreSQL", "PAUSED")
            with pytest.raises(psycopg.OperationalError):
                connect(instance)
            act(client, instance, "Resume_PostgreSQL", "RUNNING")
            with connect(instance) as db:
                assert db.execute("SELECT count(*) FROM t").fetchone() == (0,)
            finish(client, instance, "Finish_PostgreSQL")
            assert port_is_free(port_of(instance))
            assert DockerEngine().state(name) == RunState.MISSING
        finally:
            DockerEngine().stop(name)


def test_starts_under_a_folder_others_cannot_traverse(private_server: LiveServer) -> None:
    _, token = private_server.new_user()
    with Client(private_server.url, token) as client:
        instance = start(client, "PostgreSQL", {"USER": USER, "PASSWORD": PASSWORD, "DATABASE": DATABASE})
        with connect(instance) as db:
            assert db.execute("SELECT current_user").fetchone() == (USER,)
        finish(client, instance, "Finish_PostgreSQL")
