"""Password guessing (issue 9, finding 10): logins are throttled per user name and per client address.

Logins had no limit, and argon2 ran on the threads serving every request: 100 wrong logins made
``/health`` wait seconds. The address test floods from its own address: it leaves the
address it floods from (127.0.0.2, another loopback address) throttled for the rest of the window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from support.server import PASSWORD, LiveServer, live_server

#: The server's limits: per name, configured below the default (10) to show the setting is applied; per
#: address, the default (its flood checks that hashing does not starve ``/health``).
PER_NAME, PER_ADDRESS = 3, 100


#: Where the flood comes from: loopback too, but not the address the other tests log in from.
FLOODER = "127.0.0.2"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """SQLite only: the throttle keeps its counts in the server's memory, whatever the store."""
    folder: Path = tmp_path_factory.mktemp("server")
    with live_server(folder, login_failures_per_name=PER_NAME) as started:
        yield started


def _login(server: LiveServer, name: str, password: str, source: str = "127.0.0.1") -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=120) as client:
        return client.post(f"{server.api}/sessions", json={"username": name, "password": password})


def test_guessing_one_users_password_is_stopped(server: LiveServer) -> None:
    name, token = server.new_user(prefix="guessed")
    with ThreadPoolExecutor(PER_NAME) as pool:
        guesses = list(pool.map(lambda i: _login(server, name, f"guess number {i}"), range(PER_NAME)))
    assert [g.status_code for g in guesses] == [401] * PER_NAME
    for password in ("another guess", PASSWORD):  # even the right one, until the window has passed
        refused = _login(server, name, password)
        assert refused.status_code == 429, refused.text
        assert set(refused.json()) == {"error", "message", "details"}
        assert refused.json()["error"] == "too_many_requests"
        assert 0 < int(refused.headers["Retry-After"]) <= 300
        assert refused.json()["details"]["retry_after"] == int(refused.headers["Retry-After"])
    form = httpx.post(f"{server.api}/sessions/form", data={"username": name, "password": PASSWORD})
    assert form.status_code == 429
    with server.client(token) as api:  # the account's sessions go on
        assert api.get("/me").json()["name"] == name
    other, _ = server.new_user(prefix="bystander")
    assert _login(server, other, PASSWORD).status_code == 201


def test_a_flood_of_wrong_logins_neither_starves_health_nor_goes_on(server: LiveServer) -> None:
    """100 wrong logins at once from one address (distinct names): ``/health`` answers meanwhile,
    and the address is refused afterwards, right passwords included; other addresses are not."""
    latencies: list[float] = []
    flooding = threading.Event()
    flooding.set()

    def sample() -> None:
        with httpx.Client(timeout=60) as client:
            while flooding.is_set():
                began = time.perf_counter()
                client.get(f"{server.api}/health").raise_for_status()
                latencies.append(time.perf_counter() - began)
                time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(32) as pool:
            answers = list(
                pool.map(lambda i: _login(server, f"nobody-{i}", "wrong", FLOODER), range(PER_ADDRESS + 5))
            )
    finally:
        flooding.clear()
        sampler.join()
    statuses = [a.status_code for a in answers]
    assert statuses.count(401) == PER_ADDRESS and statuses.count(429) == 5, statuses
    # Hashing on the request threads made /health wait up to the whole flood (seconds).
    assert max(latencies) < 3, sorted(latencies)[-5:]
    name, _ = server.new_user(prefix="flooded")
    refused = _login(server, name, PASSWORD, FLOODER)
    assert refused.status_code == 429, refused.text
    assert "client address" in refused.json()["message"]
    assert _login(server, name, PASSWORD).status_code == 201
