"""The Visdom service on the process engine, from the venv scripts/visdom builds, through the proxy."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import httpx
import pytest

from runyard.client import Client
from runyard.services.visdom import DEFAULT_PYTHON, visdom_argv
from support.server import LiveServer
from support.service_lifecycle import FAST, TIMEOUT, act, finish, process_pid, start, url

pytestmark = pytest.mark.skipif(
    not Path(DEFAULT_PYTHON).is_file() and not os.environ.get("CI"),
    reason="no Visdom venv: build it with scripts/visdom (scripts/test does)",
)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_visdom_argv_drops_the_trailing_slash_of_the_base_url() -> None:
    argv = visdom_argv("/v/bin/python", 8097, Path("/i/envs"), base_url="/a/b/")
    assert argv[0] == "/v/bin/python" and argv[-2:] == ["-base_url", "/a/b"]
    assert argv[argv.index("-env_path") + 1] == "/i/envs/" and "-bind_local" in argv
    assert "-base_url" not in visdom_argv("p", 1, Path("/e"))


def test_visdom_proxyfied_serves_its_own_assets_pause_resume_finish(sqlite_server: LiveServer) -> None:
    _, token = sqlite_server.new_user()
    bearer = {"Authorization": f"Bearer {token}"}
    with Client(sqlite_server.url, token) as client:
        instance = start(client, "Visdom", {"PROXYFIED": "true"})
        assert instance["actions"] == ["Finish_Visdom", "Pause_Visdom"]
        direct, proxied = url(instance), url(instance, proxied=True)
        page = httpx.get(proxied, headers=bearer)
        output = Path(instance["deployments"][0]["ref"]) / "output.log"
        assert page.status_code == 200 and "<title>visdom</title>" in page.text, output.read_text()
        html = re.sub(r"<!--.*?-->", "", page.text, flags=re.S)
        links = re.findall(r"""(?:src|href)=["']?([^"' >]+)""", html)
        assert links and not [link for link in links if "//" in link], links  # nothing from another host
        prefix = proxied.split("://", 1)[1].split("/", 1)[1]
        scripts = [link for link in links if link.endswith(".js") or ".js?" in link]
        assert all(link.startswith(f"/{prefix}static/") for link in scripts), scripts
        for asset in ("static/js/plotly-plotly.min.js", "static/css/bootstrap.min.css", "user/style.css"):
            assert httpx.get(f"{proxied}{asset}", headers=bearer).status_code == 200, asset
        assert httpx.get(proxied).status_code == 401

        act(client, instance, "Pause_Visdom", "PAUSED")
        with pytest.raises(httpx.TimeoutException):
            httpx.get(direct, timeout=1)
        act(client, instance, "Resume_Visdom", "RUNNING")
        assert httpx.get(proxied, headers=bearer).status_code == 200

        pid = process_pid(instance)
        finish(client, instance, "Finish_Visdom")
        assert _gone(pid)
        with pytest.raises(httpx.ConnectError):
            httpx.get(direct)


def test_a_killed_visdom_instance_stops_its_server(client: Client) -> None:
    instance = start(client, "Visdom", {})
    pid = process_pid(instance)
    assert client.kill_service_instance(instance["id"])["status"] == "KILLED"
    deadline = time.monotonic() + 10
    while not _gone(pid):
        assert time.monotonic() < deadline, f"Visdom {pid} still runs"
        time.sleep(0.1)


def test_visdom_on_docker_is_refused_with_the_reason(client: Client) -> None:
    started = client.start_service("Visdom", {**FAST, "ENGINE": "docker"})
    instance = client.wait_for_service_instance(started["id"], timeout=TIMEOUT)
    assert instance["status"] == "ERROR"
    assert "process engine only" in str(instance["error"]), instance
