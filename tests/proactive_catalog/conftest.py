"""One live server for the module (SQLite: the store is the native API's, tested on both backends there),
and ProActive-style callers: an httpx client on the server's root sending a ``sessionid`` header."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support.server import LiveServer, live_server


@dataclass
class Caller:
    name: str
    token: str
    http: httpx.Client
    """On the server's root (``/catalog``, ``/cloud-automation-service``), with the ``sessionid`` header."""


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with (
        tempfile.TemporaryDirectory(prefix="runyard-pc-") as root,
        live_server(Path(root), nodes=4) as started,
    ):
        yield started


def proactive_client(server: LiveServer, session: str | None) -> httpx.Client:
    headers = {"sessionid": session} if session is not None else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


@pytest.fixture
def alice(server: LiveServer) -> Iterator[Caller]:
    name, token = server.new_user(prefix="alice")
    with proactive_client(server, token) as client:
        yield Caller(name, token, client)


@pytest.fixture
def bob(server: LiveServer) -> Iterator[Caller]:
    name, token = server.new_user(prefix="bob")
    with proactive_client(server, token) as client:
        yield Caller(name, token, client)
