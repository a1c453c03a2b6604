"""What both clients share, without a server: URLs, answers turned into errors, SSE parsing, exports."""

from __future__ import annotations

import asyncio
import socket
import ssl

import httpx
import pytest

import runyard.client
from runyard.client import ApiError, AsyncClient, Client, ConnectionFailed
from runyard.client.events import sse_reader
from runyard.client.transport import Operation, StreamOperation, api_url
from runyard.tls import verification


def answering(status: int, body: bytes, content_type: str = "application/json") -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(status, content=body, headers={"content-type": content_type})
    )


def test_public_names_are_pinned() -> None:
    assert runyard.client.__all__ == [
        "ApiError",
        "AsyncClient",
        "Block",
        "Client",
        "ClientError",
        "ConnectionFailed",
        "ControlFlow",
        "EnvironmentVariable",
        "FileSelector",
        "ForkEnvironment",
        "IfAction",
        "LoopAction",
        "NativeExecutable",
        "Parallel",
        "Priority",
        "ReplicateAction",
        "Script",
        "ScriptExecutable",
        "SelectionScript",
        "SelectionType",
        "Task",
        "Variable",
        "WaitTimeout",
        "Workflow",
        "documents",
    ]
    assert all(hasattr(runyard.client, name) for name in runyard.client.__all__)


def test_both_clients_have_the_same_methods() -> None:
    def methods(cls: type) -> set[str]:
        return {name for name in dir(cls) if isinstance(getattr(cls, name), Operation | StreamOperation)}

    assert methods(Client) == methods(AsyncClient)
    assert {
        "submit",
        "wait_for_job",
        "get_job_result",
        "get_task_result",
        "get_job_output",
        "events",
    } <= methods(Client)
    assert Client.wait_for_job.__doc__ and "events" in Client.wait_for_job.__doc__


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://h:8080", "http://h:8080/api/v1"),
        ("http://h:8080/", "http://h:8080/api/v1"),
        ("https://h/api/v1/", "https://h/api/v1"),
        ("http://h/prefix", "http://h/prefix/api/v1"),
    ],
)
def test_api_url(given: str, expected: str) -> None:
    assert api_url(given) == expected


@pytest.mark.parametrize("url", ["h:8080", "ftp://h", "http://"])
def test_urls_that_are_not_http_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        Client(url)


def test_error_bodies_become_api_errors_in_both_clients() -> None:
    body = b'{"error": "conflict", "message": "job 1 is FINISHED", "details": {"x": 1}}'
    with Client("http://h", transport=answering(409, body)) as client, pytest.raises(ApiError) as caught:
        client.kill_job(1)
    assert (caught.value.status, caught.value.error, caught.value.message) == (
        409,
        "conflict",
        "job 1 is FINISHED",
    )
    assert caught.value.details == {"x": 1}

    async def scenario() -> ApiError:
        async with AsyncClient(
            "http://h", transport=httpx.MockTransport(lambda r: httpx.Response(409, content=body))
        ) as client:
            with pytest.raises(ApiError) as caught:
                await client.kill_job(1)
            return caught.value

    assert str(asyncio.run(scenario())) == str(caught.value)


def test_an_answer_that_is_not_runyards_is_still_an_api_error() -> None:
    gateway = answering(502, b"<html>bad gateway</html>", "text/html")
    with Client("http://h", transport=gateway) as client, pytest.raises(ApiError) as caught:
        client.list_jobs()
    assert (caught.value.status, caught.value.error, caught.value.message) == (
        502,
        "http_error",
        "<html>bad gateway</html>",
    )


def test_an_unreachable_server_is_connection_failed() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with (
        Client(f"http://127.0.0.1:{port}") as client,
        pytest.raises(ConnectionFailed, match="cannot talk to"),
    ):
        client.health()


def test_sse_reader_skips_comments_and_joins_data_lines() -> None:
    read = sse_reader()
    lines = [
        ": subscribed",
        "",
        "id: 1",
        "event: job",
        'data: {"id": 1,',
        'data: "kind": "job"}',
        "",
        ": keep-alive",
        "",
    ]
    events = [event for line in lines for event in read(line)]
    assert events == [{"id": 1, "kind": "job"}]


def test_a_client_of_plain_http_loads_no_certificate_authority() -> None:
    """httpx's default loads its CA bundle at once (20 to 40 ms of every task making a client); a client
    of a plain-http server needs none, and trusts nothing: a TLS connection it were led to would fail."""
    context = verification("http://127.0.0.1:8080")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    assert verification(" HTTPS://runyard.example/api") is True
