"""Every error leaves as the JSON envelope with a deliberate status (issue 9, finding 10).

Unexpected exceptions left as a plain-text 500, and ``SchedulerError``, ``NodeError`` and
``ServiceError`` answered 400 as if the client were wrong. Every ``RunyardError`` class of runyard
(found by importing all its modules) goes through the API's handlers here, as do an unexpected
exception and a live server's own errors.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

import runyard
from runyard.api import errors
from runyard.client.errors import ApiError as ClientApiError
from runyard.errors import RunyardError
from support.server import LiveServer

#: Statuses that must not drift: the server's own failures are never the client's fault (4xx).
PINNED = {
    "SchedulerError": 503,
    "UnknownJobError": 404,
    "InvalidTransitionError": 409,
    "NodeError": 503,
    "StoreError": 503,
    "ServiceError": 502,
    "ServiceStartError": 502,
    "UnsupportedOperationError": 501,
    "NoFreePortError": 503,
    "ConflictError": 409,
    "WorkflowFormatError": 400,
}
ENVELOPE = {"error", "message", "details"}


def runyard_errors() -> list[type[RunyardError]]:
    """Every subclass of ``RunyardError`` in runyard's modules, however deep."""
    for module in pkgutil.walk_packages(runyard.__path__, "runyard."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)

    def below(kind: type[RunyardError]) -> Iterator[type[RunyardError]]:
        for sub in kind.__subclasses__():
            yield sub
            yield from below(sub)

    return sorted(set(below(RunyardError)), key=lambda k: f"{k.__module__}.{k.__qualname__}")


KINDS = runyard_errors()


class Raising:
    """Requests to an app with the API's error handling, in this process."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def get(self, path: str) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.get(path)

        return asyncio.run(send())


@pytest.fixture(scope="module")
def raising() -> Raising:
    """The API's error handling around routes that raise what they are told to."""
    app = FastAPI()
    errors.install(app)
    by_name = {kind.__qualname__: kind for kind in KINDS}

    @app.get("/raise/{name}")
    def raise_it(name: str) -> None:
        kind = by_name[name]
        raise kind(502, "bad_gateway", "boom") if issubclass(kind, ClientApiError) else kind("boom")

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("secret internals")

    return Raising(app)


def test_every_runyard_error_is_found() -> None:
    names = {kind.__qualname__ for kind in KINDS}
    assert set(PINNED) <= names
    assert len(KINDS) >= 20


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__qualname__)
def test_every_runyard_error_has_a_deliberate_status(raising: Raising, kind: type[RunyardError]) -> None:
    listed = [listed for listed, _, _ in errors.STATUSES if issubclass(kind, listed)]
    assert listed, f"{kind.__qualname__} is in no class of runyard.api.errors.STATUSES: give it a status"
    answer = raising.get(f"/raise/{kind.__qualname__}")
    assert answer.headers["content-type"] == "application/json"
    assert set(answer.json()) == ENVELOPE
    expected = PINNED.get(kind.__qualname__, errors.status_of(kind.__new__(kind))[0])
    assert answer.status_code == expected
    assert answer.json()["message"].endswith("boom")


def test_an_unexpected_exception_is_a_500_envelope_and_logged(
    raising: Raising, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="runyard.api.errors"):
        answer = raising.get("/bug")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == ENVELOPE and body["error"] == "internal_error"
    assert "secret internals" not in answer.text and "Traceback" not in answer.text
    logged = [r for r in caplog.records if r.exc_info and "GET /bug" in r.getMessage()]
    assert logged and "secret internals" in str(logged[0].exc_info[1] if logged[0].exc_info else "")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/jobs/123456", 404),
        ("GET", "/api/v1/users", 403),
        ("POST", "/api/v1/jobs/123456/frobnicate", 400),
        ("GET", "/api/v1/no-such-route", 404),
        ("PATCH", "/api/v1/health", 405),
    ],
)
def test_a_live_servers_errors_are_envelopes(server: LiveServer, method: str, path: str, status: int) -> None:
    _name, token = server.new_user(prefix="errors")
    answer = httpx.request(method, f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == status, answer.text
    assert set(answer.json()) == ENVELOPE
