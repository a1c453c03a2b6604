"""The generic Docker service with runyard's http image: start, reach, pause, resume, finish."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import closing

import docker
import httpx
import pytest
from docker.errors import NotFound

from runyard.client import Client
from support.docker import docker_daemon
from support.server import LiveServer
from support.service_lifecycle import act, endpoint, finish, start

pytestmark = pytest.mark.timeout(120, func_only=True)  # not the fixture: it may build the image


@pytest.fixture(scope="module")
def docker_host() -> Iterator[str]:
    with docker_daemon(["http"]) as host:
        yield host


@pytest.fixture(scope="module")
def docker_server(docker_host: str, sqlite_server: LiveServer) -> LiveServer:
    """The server, started once ``DOCKER_HOST`` is set (its node agents inherit the environment)."""
    return sqlite_server


def _status(container: str) -> str:
    with closing(docker.from_env()) as daemon:
        status: str = daemon.containers.get(container).status
        return status


def test_docker_service_pause_resume_finish(docker_server: LiveServer) -> None:
    _, token = docker_server.new_user()
    with Client(docker_server.url, token) as client:
        instance = start(client, "Docker", {"DOCKER_CONTAINER": "runyard-test-http", "PROXYFIED": "true"})
        assert instance["variables"]["INSTANCE_NAME"] == "runyard-test-http"
        container = instance["deployments"][0]["ref"]
        url, proxied = endpoint(instance)["url"], endpoint(instance)["proxyfied_url"]
        assert url and proxied and _status(container) == "running"
        assert "runyard/http is serving" in httpx.get(url).text
        proxy_answer = httpx.get(proxied, headers={"Authorization": f"Bearer {token}"})
        assert "runyard/http is serving" in proxy_answer.text

        act(client, instance, "Pause_Docker", "PAUSED")
        assert _status(container) == "paused"
        act(client, instance, "Resume_Docker", "RUNNING")
        assert _status(container) == "running" and httpx.get(url).status_code == 200

        finish(client, instance, "Finish_Docker")
        with pytest.raises(NotFound):
            _status(container)
        with closing(socket.socket()) as probe:  # no longer published (connections may linger in TIME_WAIT)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", instance["ports"][0]))


def test_an_image_the_daemon_lacks_puts_the_instance_in_error(docker_server: LiveServer) -> None:
    _, token = docker_server.new_user()
    with Client(docker_server.url, token) as client:
        started = client.start_service("Docker", {"DOCKER_IMAGE": "runyard/absent:0"})
        failed = client.wait_for_service_instance(started["id"], timeout=60)
        assert failed["status"] == "ERROR" and not failed["deployments"]
        job = client.wait_for_job(failed["job_submissions"][0]["job_id"], timeout=60)
        assert job["status"] == "CANCELED", job  # as ProActive's cancelJob start tasks
