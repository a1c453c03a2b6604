"""With the portal, proxied endpoints (user code) live on an origin of their own: a real ``runyard server``
process, portal on, its services' origin on another port; one server and one Static_HTTP service shared."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect
from websockets.typing import Origin

from runyard.client import Client
from runyard.client.documents import ServiceInstance
from support.server import ADMIN, PASSWORD, bearer
from support.server_process import announced_proxy_url, free_port, server_process

CONTENT = "served on the services' origin"


@dataclass
class Origins:
    main: str
    """The portal and the API."""
    proxy: str
    """Proxied endpoints only."""
    token: str
    instance: ServiceInstance
    endpoint_path: str
    """``/api/v1/service-instances/ID/endpoints/EID/``."""


@pytest.fixture(scope="module")
def origins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Origins]:
    data_dir = tmp_path_factory.mktemp("origins")
    command = [sys.executable, "-m", "runyard", "user", "add", ADMIN, "--admin", "--password-stdin"]
    added = subprocess.run(
        [*command, "--data-dir", str(data_dir)], input=PASSWORD + "\n", capture_output=True, text=True
    )
    assert added.returncode == 0, added.stderr
    port = free_port()
    with server_process(data_dir, port, "--nodes", "1", "--proxy-port", "0") as process:
        main, proxy = f"http://127.0.0.1:{port}", announced_proxy_url(process)
        answer = httpx.post(f"{main}/api/v1/sessions", json={"username": ADMIN, "password": PASSWORD})
        token = answer.json()["token"]
        with Client(main, token) as client:
            started = client.start_service("Static_HTTP", {"PROXYFIED": "true", "CONTENT": CONTENT})
            instance = client.wait_for_service_instance(started["id"], timeout=60)
            try:
                assert instance["status"] == "RUNNING", instance
                (endpoint_id,) = instance["endpoints"]
                path = f"/api/v1/service-instances/{instance['id']}/endpoints/{endpoint_id}/"
                yield Origins(main, proxy, token, instance, path)
            finally:
                client.kill_service_instance(instance["id"])  # services outlive their server


def test_the_services_origin_is_another_port_of_the_same_host(origins: Origins) -> None:
    main, proxy = urlsplit(origins.main), urlsplit(origins.proxy)
    assert (proxy.scheme, proxy.hostname) == (main.scheme, main.hostname) and proxy.port != main.port


def test_the_main_origin_serves_the_portal_and_the_api(origins: Origins) -> None:
    login = httpx.get(f"{origins.main}/login")
    assert login.status_code == 200 and "text/html" in login.headers["content-type"]
    jobs = httpx.get(f"{origins.main}/api/v1/jobs", headers=bearer(origins.token))
    assert jobs.status_code == 200 and jobs.json()["total"] >= 1


def test_the_api_says_endpoints_are_on_the_services_origin(origins: Origins) -> None:
    (endpoint,) = origins.instance["endpoints"].values()
    assert endpoint["proxyfied"] and endpoint["proxyfied_url"] == origins.proxy + origins.endpoint_path
    listed = httpx.get(
        f"{origins.main}/api/v1/service-instances/{origins.instance['id']}/endpoints",
        headers=bearer(origins.token),
    ).json()
    assert [e["proxyfied_url"] for e in listed.values()] == [origins.proxy + origins.endpoint_path]


@pytest.mark.parametrize("rest", ["", "index.html?a=1&b=%2F"])
def test_proxy_paths_on_the_main_origin_are_redirected_there(origins: Origins, rest: str) -> None:
    answer = httpx.get(f"{origins.main}{origins.endpoint_path}{rest}", headers=bearer(origins.token))
    assert answer.status_code == 307
    assert answer.headers["location"] == f"{origins.proxy}{origins.endpoint_path}{rest}"
    posted = httpx.post(f"{origins.main}{origins.endpoint_path}", content=b"x")
    assert posted.status_code == 307  # 307: a method and body are replayed there, not turned into GET


def test_the_services_origin_serves_proxied_endpoints(origins: Origins) -> None:
    served = httpx.get(f"{origins.proxy}{origins.endpoint_path}", headers=bearer(origins.token))
    assert served.status_code == 200 and served.text == CONTENT
    assert httpx.get(f"{origins.proxy}{origins.endpoint_path}").status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/jobs",
        "/services",
        "/api/v1/jobs",
        "/api/v1/health",
        "/api/v1/docs",
        "/api/v1/openapi.json",
        "/api/v1/service-instances",
        "/api/v1/service-instances/1",
        "/_nicegui/client/x",
    ],
)
def test_the_services_origin_serves_nothing_else(origins: Origins, path: str) -> None:
    answer = httpx.get(f"{origins.proxy}{path}", headers=bearer(origins.token))
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"] == "not_found" and CONTENT not in answer.text


def test_the_token_becomes_a_cookie_of_the_endpoint_on_the_services_origin(origins: Origins) -> None:
    with httpx.Client() as browser:
        opened = browser.get(f"{origins.proxy}{origins.endpoint_path}?token={origins.token}&page=2")
        assert opened.status_code == 303
        assert opened.headers["location"] == f"{origins.proxy}{origins.endpoint_path}?page=2"
        assert f"Path={origins.endpoint_path}" in opened.headers["set-cookie"]
        assert browser.get(opened.headers["location"]).text == CONTENT  # with the cookie only
        assert browser.get(f"{origins.main}/api/v1/jobs").status_code == 401  # the cookie is no API session


def test_a_websocket_to_a_proxy_path_on_the_main_origin_is_refused(origins: Origins) -> None:
    url = f"ws://{urlsplit(origins.main).netloc}{origins.endpoint_path}socket"
    with (
        pytest.raises(ConnectionClosed) as closed,
        ws_connect(url, additional_headers=bearer(origins.token), proxy=None) as ws,
    ):
        ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason == f"service endpoints are served on {origins.proxy}"


def test_a_websocket_to_the_portal_on_the_services_origin_is_refused(origins: Origins) -> None:
    url = f"ws://{urlsplit(origins.proxy).netloc}/_nicegui_ws/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(InvalidStatus) as refused, ws_connect(url, proxy=None):
        pass
    assert refused.value.response.status_code in (403, 404)


def test_requests_from_the_services_origin_are_refused_on_the_main_one(origins: Origins) -> None:
    """Script on a service's page may still send (not read) requests to the portal; none is served."""
    from_services = {"Origin": origins.proxy, **bearer(origins.token)}
    assert httpx.get(f"{origins.main}/api/v1/jobs", headers=from_services).status_code == 403
    assert httpx.post(f"{origins.main}/api/v1/sessions", headers={"Origin": origins.proxy}).status_code == 403
    assert httpx.get(
        f"{origins.main}/api/v1/jobs", headers={"Origin": origins.main, **bearer(origins.token)}
    ).is_success
    url = f"ws://{urlsplit(origins.main).netloc}/_nicegui_ws/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(InvalidStatus) as refused, ws_connect(url, origin=Origin(origins.proxy), proxy=None):
        pass
    assert refused.value.response.status_code == 403
