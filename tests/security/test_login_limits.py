"""Password guessing (issue 9, finding 10): logins are throttled per user name and per client address.

Logins had no limit, and argon2 ran on the threads serving every request: 100 wrong logins made
``/health`` wait seconds. The address test floods from its own address: it leaves the
address it floods from (127.0.0.2, another loopback address) throttled for the rest of the window.

The suite hashes passwords cheaply in its own process (tests/conftest.py): this module's server hashes
at the production cost, as ``runyard`` does (checked below), so that its flood is the real load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import argon2
import httpx
import pytest
import sqlalchemy as sa

from runyard.auth.users import use_password_hasher
from runyard.store.database import connect
from runyard.store.schema import users
from support.server import PASSWORD, LiveServer, live_server
from support.server_process import add_user

#: The server's limits, configured below their defaults (10, 100) to show the settings are applied: the
#: flood (per address) of 35 logins at the production cost is seconds of hashing, enough to show that
#: hashing does not starve ``/health`` (100 made the suite's longest test).
PER_NAME, PER_ADDRESS = 3, 30


#: Where the flood comes from: loopback too, but not the address the other tests log in from.
FLOODER = "127.0.0.2"


#: What ``runyard`` hashes with: argon2-cffi's defaults, RFC 9106's low-memory profile.
PRODUCTION = argon2.profiles.RFC_9106_LOW_MEMORY


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """SQLite only: the throttle keeps its counts in the server's memory, whatever the store. Passwords
    hashed at the production cost while it runs."""
    folder: Path = tmp_path_factory.mktemp("server")
    cheap = use_password_hasher(argon2.PasswordHasher())  # as runyard.auth.users makes it
    try:
        with live_server(
            folder, login_failures_per_name=PER_NAME, login_failures_per_address=PER_ADDRESS
        ) as started:
            yield started
    finally:
        use_password_hasher(cheap)


def _hash_parameters(database_url: str, name: str) -> argon2.Parameters:
    engine = connect(database_url)
    with engine.connect() as connection:
        stored = connection.execute(sa.select(users.c.password_hash).where(users.c.name == name)).scalar_one()
    engine.dispose()
    return argon2.extract_parameters(stored)


def test_runyard_hashes_passwords_at_the_production_cost(tmp_path: Path) -> None:
    """``runyard user add`` (a process of its own: what the server's accounts are hashed with, the tests'
    cheap hashing left out) stores argon2id at 3 passes over 64 MiB, 4 lanes."""
    add_user(tmp_path, "costly", PASSWORD)
    parameters = _hash_parameters(f"sqlite:///{tmp_path / 'runyard.db'}", "costly")
    assert parameters == PRODUCTION
    assert (parameters.type, parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
        argon2.Type.ID,
        3,
        65536,
        4,
    )


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
    """``PER_ADDRESS`` + 5 wrong logins at once from one address (distinct names): ``/health`` answers
    meanwhile, and the address is refused afterwards, right passwords included; other addresses are not."""
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
    # the flood above ran at the production cost: the account made since is hashed at it
    assert _hash_parameters(f"sqlite:///{server.data_dir / 'runyard.db'}", name) == PRODUCTION
    refused = _login(server, name, PASSWORD, FLOODER)
    assert refused.status_code == 429, refused.text
    assert "client address" in refused.json()["message"]
    assert _login(server, name, PASSWORD).status_code == 201
