"""The JupyterLab and Tensorboard services on the process and docker engines, directly and through the
proxy."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from jupyter_server.auth.security import passwd_check
from websockets.sync.client import connect

from runyard.client import Client
from runyard.client.documents import ServiceInstance
from runyard.services.engines import RunState
from runyard.services.engines.docker import DockerEngine
from runyard.services.notebooks import jupyter_env, jupyterlab_argv, tensorboard_argv, wait_until_answering
from runyard.services.ports import free_port
from runyard.services.proxy import http_to_ws
from runyard.services.psa import ServiceFailure
from support.server import LiveServer
from support.service_lifecycle import act, endpoint, finish, port_is_free, process_pid, start, url


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _start_kernel(proxied: str, headers: dict[str, str]) -> str:
    """Start a kernel through the proxy as the lab page does (its XSRF cookie echoed in a header); its id."""
    with httpx.Client(headers=headers) as browser:
        assert browser.get(f"{proxied}lab").status_code == 200
        xsrf = {"X-XSRFToken": browser.cookies["_xsrf"]}
        started = browser.post(f"{proxied}api/kernels", json={"name": "python3"}, headers=xsrf, timeout=30)
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def _kernel_info_through(channels: str, headers: dict[str, str]) -> str:
    """Open a kernel's websocket at ``channels`` and ask for its kernel info; the reply's status."""
    msg_id = uuid.uuid4().hex
    request = {
        "header": {"msg_id": msg_id, "msg_type": "kernel_info_request", "version": "5.3"},
        "parent_header": {},
        "metadata": {},
        "content": {},
        "channel": "shell",
    }
    with connect(channels, additional_headers=headers, open_timeout=10) as websocket:
        websocket.send(json.dumps(request))
        while True:
            message = json.loads(websocket.recv(timeout=30))
            if message["parent_header"].get("msg_id") == msg_id and message["channel"] == "shell":
                return str(message["content"]["status"])


@contextmanager
def _container_name(service: str) -> Iterator[str]:
    """A name of its own for a docker-engine instance (the daemon outlives the server, whose ids restart),
    whose container is removed whatever the test's outcome."""
    name = f"{service}-test-{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        DockerEngine().stop(name)


def _instance_folder(server: LiveServer, instance: ServiceInstance) -> Path:
    """The instance's folder on the server's host (the container mounts its subfolders, pinned)."""
    name = instance["variables"]["INSTANCE_NAME"]
    return server.data_dir / "services" / instance["owner"] / f"{instance['id']}-{name}"


def _processes_naming(text: str) -> list[int]:
    """The processes whose command line holds ``text`` (a kernel's is its connection file's name)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:  # ended meanwhile
            continue
    return found


def test_jupyterlab_argv_hashes_the_password() -> None:
    argv = jupyterlab_argv(["jupyter", "lab"], "127.0.0.1", 8888, "/nb", base_url="/x/", password="s3cret")
    assert argv[:2] == ["jupyter", "lab"] and "--ServerApp.base_url=/x/" in argv
    assert "--IdentityProvider.token=" in argv and not any("s3cret" in word for word in argv)
    (hashed,) = (
        w.split("=", 1)[1] for w in argv if w.startswith("--PasswordIdentityProvider.hashed_password")
    )
    assert hashed.startswith("argon2:") and passwd_check(hashed, "s3cret")  # type: ignore[no-untyped-call]
    assert not any("hashed_password" in w for w in jupyterlab_argv(["j"], "h", 1, "/nb"))


def test_tensorboard_argv_drops_the_trailing_slash_of_the_prefix() -> None:
    argv = tensorboard_argv(["tb"], "127.0.0.1", 6006, "/logs", path_prefix="/a/b/")
    assert argv[-2:] == ["--path_prefix", "/a/b"]
    assert "--path_prefix" not in tensorboard_argv(["tb"], "127.0.0.1", 6006, "/logs", path_prefix="/")


def test_jupyter_env_keeps_jupyter_out_of_home(tmp_path: Path) -> None:
    env = jupyter_env(tmp_path, {"PATH": "/bin", "JUPYTER_DATA_DIR": "/home/me/.local"})
    assert env["PATH"] == "/bin" and env["JUPYTER_DATA_DIR"] == str(tmp_path / "data")
    assert {env[k] for k in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")} <= {
        str(tmp_path / d) for d in ("config", "runtime", "ipython")
    }


def test_wait_until_answering_fails_when_nothing_answers() -> None:
    with pytest.raises(ServiceFailure, match=r"does not answer after 0\.3 s"):
        wait_until_answering(f"http://127.0.0.1:{free_port()}/", timeout=0.3)


def test_jupyterlab_proxyfied_pause_resume_finish(sqlite_server: LiveServer) -> None:
    _, token = sqlite_server.new_user()
    bearer = {"Authorization": f"Bearer {token}"}
    with Client(sqlite_server.url, token) as client:
        instance = start(client, "JupyterLab", {"PROXYFIED": "true"})
        assert instance["actions"] == ["Finish_JupyterLab", "Pause_JupyterLab"]
        direct, proxied = endpoint(instance)["url"], endpoint(instance)["proxyfied_url"]
        assert direct and proxied and proxied.endswith(f"/endpoints/{direct.split('/endpoints/')[1]}")
        assert httpx.get(f"{direct}api/status").status_code == 200
        assert httpx.get(f"{proxied}lab", headers=bearer).status_code == 200
        assert httpx.get(f"{proxied}api/status", headers=bearer).status_code == 200
        assert httpx.get(f"{proxied}api/status").status_code == 401
        kernel = _start_kernel(proxied, bearer)
        assert _processes_naming(f"kernel-{kernel}.json")
        home = Path(instance["deployments"][0]["ref"]).parent
        assert (home / "jupyter" / "runtime").is_dir() and (home / "notebooks").is_dir()

        paused = act(client, instance, "Pause_JupyterLab", "PAUSED")
        assert paused["actions"] == ["Finish_JupyterLab", "Resume_JupyterLab"]
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"{direct}api/status", timeout=1)
        act(client, instance, "Resume_JupyterLab", "RUNNING")
        assert httpx.get(f"{proxied}api/status", headers=bearer).status_code == 200

        pid = process_pid(instance)
        finish(client, instance, "Finish_JupyterLab")
        assert _gone(pid) and not _processes_naming(f"kernel-{kernel}.json")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{direct}api/status")


def test_two_jupyterlabs_get_their_own_ports(sqlite_server: LiveServer) -> None:
    _, token = sqlite_server.new_user()
    with Client(sqlite_server.url, token) as client:
        started = [client.start_service("JupyterLab", {"HEALTH_CHECK_CRON": "* * * * * */1"}) for _ in "ab"]
        instances = [client.wait_for_service_instance(s["id"], timeout=60) for s in started]
        assert [i["status"] for i in instances] == ["RUNNING", "RUNNING"], instances
        urls = [endpoint(i)["url"] for i in instances]
        assert len({u for u in urls if u}) == 2 and instances[0]["ports"] != instances[1]["ports"]
        for url in urls:
            assert httpx.get(f"{url}/api/status").status_code == 200
        for instance in instances:
            client.run_service_action(instance["id"], "Finish_JupyterLab")
        for instance in instances:
            finished = client.wait_for_service_instance(instance["id"], timeout=60)
            assert finished["status"] == "FINISHED", finished


def test_tensorboard_proxyfied_then_finished(sqlite_server: LiveServer) -> None:
    _, token = sqlite_server.new_user()
    bearer = {"Authorization": f"Bearer {token}"}
    with Client(sqlite_server.url, token) as client:
        instance = start(client, "Tensorboard", {"PROXYFIED": "true"})
        assert instance["actions"] == ["Finish_Tensorboard"]
        direct, proxied = endpoint(instance)["url"], endpoint(instance)["proxyfied_url"]
        assert direct and proxied
        assert httpx.get(f"{direct}/data/logdir").status_code == 200
        assert httpx.get(proxied, headers=bearer).status_code == 200
        assert "logdir" in httpx.get(f"{proxied}data/logdir", headers=bearer).json()
        pid = process_pid(instance)
        finish(client, instance, "Finish_Tensorboard")
        assert _gone(pid)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{direct}/data/logdir")


@pytest.mark.timeout(120, func_only=True)
def test_jupyterlab_on_docker_proxyfied_pause_resume_finish(docker_server: LiveServer) -> None:
    _, token = docker_server.new_user()
    bearer = {"Authorization": f"Bearer {token}"}
    variables = {"ENGINE": "docker", "PROXYFIED": "true"}
    with Client(docker_server.url, token) as client, _container_name("jupyterlab") as name:
        instance = start(client, "JupyterLab", {**variables, "INSTANCE_NAME": name})
        assert instance["deployments"][0]["engine"] == "docker"
        direct, proxied = url(instance), url(instance, proxied=True)
        assert httpx.get(f"{direct}api/status").status_code == 200
        assert httpx.get(f"{proxied}api/status", headers=bearer).status_code == 200
        kernel = _start_kernel(proxied, bearer)
        jupyter = _instance_folder(docker_server, instance) / "jupyter"
        assert (jupyter / "runtime" / f"kernel-{kernel}.json").is_file()
        channels = f"{http_to_ws(proxied)}api/kernels/{kernel}/channels"
        assert _kernel_info_through(channels, bearer) == "ok"

        act(client, instance, "Pause_JupyterLab", "PAUSED")
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"{direct}api/status", timeout=1)
        act(client, instance, "Resume_JupyterLab", "RUNNING")
        assert httpx.get(f"{proxied}api/status", headers=bearer).status_code == 200

        finish(client, instance, "Finish_JupyterLab")
        assert DockerEngine().state(name) == RunState.MISSING
        port = urlsplit(direct).port
        assert port and port_is_free(port)


@pytest.mark.timeout(120, func_only=True)
def test_tensorboard_on_docker_proxyfied_then_finished(docker_server: LiveServer) -> None:
    _, token = docker_server.new_user()
    bearer = {"Authorization": f"Bearer {token}"}
    variables = {"ENGINE": "docker", "PROXYFIED": "true"}
    with Client(docker_server.url, token) as client, _container_name("tensorboard") as name:
        instance = start(client, "Tensorboard", {**variables, "INSTANCE_NAME": name})
        direct, proxied = url(instance), url(instance, proxied=True)
        assert httpx.get(f"{direct}data/logdir").json() == {"logdir": "/logs"}
        assert httpx.get(proxied, headers=bearer).status_code == 200
        assert httpx.get(f"{proxied}data/logdir", headers=bearer).json() == {"logdir": "/logs"}
        finish(client, instance, "Finish_Tensorboard")
        assert DockerEngine().state(name) == RunState.MISSING
        port = urlsplit(direct).port
        assert port and port_is_free(port)
