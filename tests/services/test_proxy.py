"""The service-endpoint reverse proxy, between real uvicorn servers on loopback sockets."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import queue
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect
from websockets.typing import Origin, Subprotocol

from runyard.services.proxy import forward_http, forward_websocket, http_to_ws, new_client, target_url

CHUNK = bytes(range(256)) * 256  # 64 KiB
BIG_CHUNKS = 80  # 5 MiB
GZIPPED = gzip.compress(b"squeezed " * 100)


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """``app`` on uvicorn on a free loopback port, in a thread; yields its ``http://`` origin."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
        assert not thread.is_alive(), "the test server did not stop"


@dataclass
class Upstream:
    url: str
    ws_closes: queue.Queue[int] = field(default_factory=queue.Queue)
    streams_closed: threading.Event = field(default_factory=threading.Event)

    @property
    def endpoint(self) -> str:
        """The endpoint's base URL: the service was started with base path ``/base``."""
        return f"{self.url}/base/"


def upstream_app(upstream: Upstream) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "path": request.scope["raw_path"].decode(),
                "query": request.url.query,
                "headers": [[k.decode(), v.decode()] for k, v in request.headers.raw],
                "body": body.decode(),
            }
        )

    async def big(_request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(BIG_CHUNKS):
                yield CHUNK

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def endless(_request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield CHUNK
                    await asyncio.sleep(0.01)
            finally:
                upstream.streams_closed.set()

        return StreamingResponse(chunks())

    async def gzipped(request: Request) -> Response:
        assert request.headers["accept-encoding"] == "gzip"
        return Response(GZIPPED, headers={"Content-Encoding": "gzip"}, media_type="text/plain")

    async def redirect(request: Request) -> Response:
        return RedirectResponse(f"{request.base_url}base/target?x=1", status_code=302)

    async def redirect_path(_request: Request) -> Response:
        return RedirectResponse("/base/target", status_code=303)

    async def set_cookie(_request: Request) -> Response:
        answer = PlainTextResponse("ok")
        answer.set_cookie("svc", "1")
        answer.set_cookie("runyard_session", "stolen")
        answer.set_cookie("runyard-portal", "fixed")  # the portal's, on the same origin
        return answer

    async def slow(_request: Request) -> Response:
        await asyncio.sleep(1)
        return PlainTextResponse("late")

    async def secret(_request: Request) -> Response:
        return PlainTextResponse("outside the endpoint")

    async def ws_echo(websocket: WebSocket) -> None:
        offered = websocket.scope["subprotocols"]
        await websocket.accept(subprotocol="v1" if "v1" in offered else None)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text") is not None:
                    await websocket.send_text(message["text"])
                else:
                    await websocket.send_bytes(message["bytes"])
        except WebSocketDisconnect:
            return

    async def ws_headers(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({k: v for k, v in websocket.headers.items()})
        await websocket.close()

    async def ws_close(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(4001, "go away")

    async def ws_record(websocket: WebSocket) -> None:
        await websocket.accept()
        message = await websocket.receive()
        upstream.ws_closes.put(message.get("code", 0))

    return Starlette(
        routes=[
            Route("/base/big", big),
            Route("/base/endless", endless),
            Route("/base/gzip", gzipped),
            Route("/base/redirect", redirect),
            Route("/base/redirect-path", redirect_path),
            Route("/base/set-cookie", set_cookie),
            Route("/base/slow", slow),
            Route("/base/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/secret", secret),
            WebSocketRoute("/base/ws/echo", ws_echo),
            WebSocketRoute("/base/ws/headers", ws_headers),
            WebSocketRoute("/base/ws/close", ws_close),
            WebSocketRoute("/base/ws/record", ws_record),
        ]
    )


def front_app(endpoints: dict[str, str]) -> Starlette:
    """Serves ``endpoints[name]`` under ``/name/``, the way the platform's route uses the proxy."""
    clients: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        clients["default"], clients["impatient"] = new_client(), new_client(timeout=0.2)
        yield
        for client in clients.values():
            await client.aclose()

    async def proxy(request: Request) -> Response:
        name: str = request.path_params["name"]
        endpoint = endpoints[name]
        upstream = target_url(endpoint, request.path_params["rest"], request.url.query)
        client = clients["impatient" if name == "impatient" else "default"]
        return await forward_http(request, upstream, client, endpoint_url=endpoint, prefix=f"/{name}")

    async def proxy_ws(websocket: WebSocket) -> None:
        name: str = websocket.path_params["name"]
        upstream = target_url(endpoints[name], websocket.path_params["rest"], websocket.url.query)
        await forward_websocket(websocket, http_to_ws(upstream), prefix=f"/{name}")

    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/{name}/{rest:path}", proxy, methods=methods),
            WebSocketRoute("/{name}/{rest:path}", proxy_ws),
        ],
        lifespan=lifespan,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    upstream = Upstream("")
    with serve(upstream_app(upstream)) as url:
        upstream.url = url
        yield upstream


@pytest.fixture(scope="module")
def front(upstream: Upstream) -> Iterator[str]:
    endpoints = {
        "p": upstream.endpoint,
        "impatient": upstream.endpoint,
        "down": f"http://127.0.0.1:{free_port()}/",
    }
    with serve(front_app(endpoints)) as url:
        yield url


@pytest.fixture
def client(front: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=front, trust_env=False, timeout=5) as client:
        yield client


def echoed_headers(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    pairs: list[list[str]] = answer.json()["headers"]
    return {name: value for name, value in pairs}


# --- target_url and http_to_ws


@pytest.mark.parametrize(
    ("endpoint", "rest", "query", "expected"),
    [
        ("http://h:1/", "", "", "http://h:1/"),
        ("http://h:1", "", "", "http://h:1/"),
        ("http://h:1/base/", "lab/tree", "a=1&b=2", "http://h:1/base/lab/tree?a=1&b=2"),
        ("http://h:1/base", "lab/", "", "http://h:1/base/lab/"),
        ("http://h:1/base/", "a/b/../c", "", "http://h:1/base/a/c"),
        ("http://h:1/base/", "../../etc/passwd", "", "http://h:1/base/etc/passwd"),
        ("http://h:1/base/", "a/../../..", "", "http://h:1/base/"),
        ("http://h:1/base/", "./a/./b/.", "", "http://h:1/base/a/b/"),
        ("http://h:1/base/", "//evil.example/x", "", "http://h:1/base/evil.example/x"),
        ("http://h:1/base/", "a b/%2e%2e/ü?#", "", "http://h:1/base/a%20b/%252e%252e/%C3%BC%3F%23"),
        ("http://h:1/base/?token=t", "x", "y=2", "http://h:1/base/x?token=t&y=2"),
    ],
)
def test_target_url_stays_below_the_endpoint(endpoint: str, rest: str, query: str, expected: str) -> None:
    assert target_url(endpoint, rest, query) == expected


def test_http_to_ws() -> None:
    assert http_to_ws("http://h:1/a?b=c") == "ws://h:1/a?b=c"
    assert http_to_ws("HTTPS://h/a") == "wss://h/a"
    with pytest.raises(ValueError):
        http_to_ws("ftp://h/")


# --- HTTP


def test_get_and_post_are_echoed(client: httpx.Client) -> None:
    got = client.get("/p/some/where", params={"q": "1 2"})
    assert got.json() | {"headers": None} == {
        "method": "GET",
        "path": "/base/some/where",
        "query": "q=1+2",
        "headers": None,
        "body": "",
    }
    posted = client.post("/p/form", content=b"hello body", headers={"X-Custom": "yes"})
    assert posted.json()["method"] == "POST"
    assert posted.json()["body"] == "hello body"
    assert echoed_headers(posted)["x-custom"] == "yes"


def test_request_body_is_streamed_up(client: httpx.Client) -> None:
    def parts() -> Iterator[bytes]:
        yield b"first "
        yield b"second"

    answer = client.put("/p/upload", content=parts())
    assert answer.json()["body"] == "first second"
    assert echoed_headers(answer)["transfer-encoding"] == "chunked"


def test_platform_credentials_never_reach_the_service(
    client: httpx.Client, front: str, upstream: Upstream
) -> None:
    headers = {
        "Authorization": "Bearer platform-token",
        "sessionid": "platform-token",
        "Cookie": "a=1; runyard_session=platform-token; b=2; runyard-portal=portal-session",
        "X-Forwarded-Host": "forged.example",
        "Proxy-Authorization": "Basic eDp5",
    }
    seen = echoed_headers(client.get("/p/whoami", headers=headers))
    assert "authorization" not in seen
    assert "sessionid" not in seen
    assert "proxy-authorization" not in seen
    assert seen["cookie"] == "a=1; b=2"
    assert seen["x-forwarded-host"] == front.removeprefix("http://")
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-prefix"] == "/p"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["host"] == upstream.url.removeprefix("http://")


def test_cookies_from_the_service_reach_the_user_only(client: httpx.Client) -> None:
    answer = client.get("/p/set-cookie")
    set_cookies = answer.headers.get_list("set-cookie")
    assert any(c.startswith("svc=1") for c in set_cookies)
    assert not any(c.startswith(("runyard_session=", "runyard-portal=")) for c in set_cookies)
    with httpx.Client(base_url=str(client.base_url), trust_env=False) as stranger:
        assert "cookie" not in echoed_headers(stranger.get("/p/echo"))


def test_same_origin_is_rewritten_and_foreign_origin_kept(
    client: httpx.Client, front: str, upstream: Upstream
) -> None:
    assert echoed_headers(client.post("/p/x", headers={"Origin": front}))["origin"] == upstream.url
    foreign = "https://elsewhere.example"
    assert echoed_headers(client.post("/p/x", headers={"Origin": foreign}))["origin"] == foreign


def test_large_response_is_streamed_byte_exact(client: httpx.Client) -> None:
    with client.stream("GET", "/p/big") as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/octet-stream"
        received = b"".join(answer.iter_bytes())
    assert received == CHUNK * BIG_CHUNKS


def test_compressed_answers_pass_through_untouched(client: httpx.Client) -> None:
    answer = client.get("/p/gzip", headers={"Accept-Encoding": "gzip"})
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["content-length"] == str(len(GZIPPED))
    assert answer.text == "squeezed " * 100


def test_upstream_stream_is_closed_when_the_client_leaves(client: httpx.Client, upstream: Upstream) -> None:
    upstream.streams_closed.clear()
    with client.stream("GET", "/p/endless") as answer:
        chunks = answer.iter_raw()
        next(chunks)
        next(chunks)
    assert upstream.streams_closed.wait(timeout=2)


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [("/p/redirect", 302, "{front}/p/target?x=1"), ("/p/redirect-path", 303, "/p/target")],
)
def test_redirects_to_the_service_point_at_the_proxy(
    client: httpx.Client, front: str, path: str, status: int, expected: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == status
    assert answer.headers["location"] == expected.format(front=front)


def test_hop_by_hop_headers_are_not_relayed(client: httpx.Client) -> None:
    answer = client.get("/p/echo", headers={"Connection": "keep-alive, X-Private", "X-Private": "1"})
    seen = echoed_headers(answer)
    assert "x-private" not in seen
    assert "keep-alive" not in seen
    assert len(answer.headers.get_list("date")) == len(answer.headers.get_list("server")) == 1


@pytest.mark.parametrize(
    "path", ["/p/../secret", "/p/%2e%2e/secret", "/p/%2E%2E%2Fsecret", "/p/..%2f..%2fsecret"]
)
def test_traversal_cannot_leave_the_endpoint(front: str, path: str) -> None:
    # http.client sends the path as written; httpx would resolve the dots itself.
    connection = http.client.HTTPConnection(front.removeprefix("http://"), timeout=5)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    assert answer.status == 200
    assert json.loads(body)["path"] == "/base/secret"


def test_unreachable_service_answers_502(client: httpx.Client) -> None:
    answer = client.get("/down/anything")
    assert answer.status_code == 502
    assert answer.json()["error"] == "bad_gateway"
    assert answer.json()["details"] == {}
    assert set(answer.json()) == {"error", "message", "details"}


def test_slow_service_answers_504(client: httpx.Client) -> None:
    answer = client.get("/impatient/slow")
    assert answer.status_code == 504
    assert answer.json()["error"] == "gateway_timeout"


# --- websockets


def ws_url(front: str, path: str) -> str:
    return http_to_ws(front) + path


def test_websocket_echoes_text_and_binary_with_the_agreed_subprotocol(front: str) -> None:
    with ws_connect(
        ws_url(front, "/p/ws/echo"), subprotocols=[Subprotocol("v2"), Subprotocol("v1")], proxy=None
    ) as ws:
        assert ws.subprotocol == "v1"
        ws.send("hello")
        assert ws.recv(timeout=2) == "hello"
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=2) == b"\x00\x01binary"


def test_websocket_close_code_reaches_the_client(front: str) -> None:
    with (
        ws_connect(ws_url(front, "/p/ws/close"), proxy=None) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=2)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "go away")


def test_client_close_code_reaches_the_service(front: str, upstream: Upstream) -> None:
    with ws_connect(ws_url(front, "/p/ws/record"), proxy=None) as ws:
        ws.close(4002, "done")
    assert upstream.ws_closes.get(timeout=2) == 4002


def test_websocket_handshake_headers(front: str, upstream: Upstream) -> None:
    headers = {"Cookie": "a=1; runyard_session=platform-token", "Authorization": "Bearer platform-token"}
    with ws_connect(
        ws_url(front, "/p/ws/headers"),
        origin=Origin(front),
        additional_headers=headers,
        proxy=None,
    ) as ws:
        seen: dict[str, Any] = json.loads(ws.recv(timeout=2))
    assert seen["origin"] == upstream.url
    assert seen["cookie"] == "a=1"
    assert "authorization" not in seen
    assert seen["x-forwarded-prefix"] == "/p"


def test_unreachable_websocket_is_refused_with_502(front: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(ws_url(front, "/down/ws"), proxy=None, open_timeout=2)
    assert refused.value.response.status_code == 502
    assert json.loads(refused.value.response.body or b"{}")["error"] == "bad_gateway"
