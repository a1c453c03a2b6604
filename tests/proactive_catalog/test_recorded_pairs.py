"""ProActive's catalog REST replayed from recorded request/response pairs (``recorded/*.json``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from proactive_catalog.callers import Caller, proactive_client
from proactive_catalog.pairs import load, run
from support.server import LiveServer

_buckets = itertools.count(1)


@pytest.fixture
def forged(server: LiveServer) -> Iterator[httpx.Client]:
    with proactive_client(server, "0123456789abcdef-not-a-session") as client:
        yield client


@pytest.fixture
def anonymous(server: LiveServer) -> Iterator[httpx.Client]:
    with proactive_client(server, None) as client:
        yield client


@pytest.mark.parametrize("recording", ["catalog_session.json", "catalog_errors.json"])
def test_recorded_pairs(
    recording: str,
    server: LiveServer,
    alice: Caller,
    bob: Caller,
    forged: httpx.Client,
    anonymous: httpx.Client,
) -> None:
    callers = {"user": alice.http, "other": bob.http, "forged": forged, "anonymous": anonymous}
    context = {"user": alice.name, "bucket": f"recorded-{next(_buckets)}", "url": server.url}
    run(load(recording), callers.__getitem__, context)
