"""Reverse proxy from the platform to service endpoints (plain HTTP and websockets).

The platform's own credentials never go upstream: a service runs user code and must not be able to act as
the user on the platform. What the upstream sees as its origin is rewritten both ways, so services that
check ``Origin`` or redirect to absolute URLs work behind the public prefix.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import httpx
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import EXTERNAL_CLOSE_CODES
from websockets.typing import Subprotocol

from runyard.api.errors import error_response
from runyard.services.instances import ServiceInstance

#: The platform's session cookie; everything else in ``Cookie`` belongs to the services.
SESSION_COOKIE = "runyard_session"
#: How the platform's cookies are named (this session cookie, the portal's ``runyard-portal``): the proxy
#: sends none of them to a service and lets no service set one (the services' origin is another port of the
#: portal's host, and cookies are scoped by host, not port).
PLATFORM_COOKIE_PREFIX = "runyard"


def endpoint_path(instance_id: int, endpoint_id: str) -> str:
    """Where the proxy serves an endpoint (its root: with a trailing slash)."""
    return f"/api/v1/service-instances/{instance_id}/endpoints/{quote(endpoint_id, safe='')}/"


def endpoint_url(base_url: str, instance_id: int, endpoint_id: str) -> str:
    """The proxy's URL of an endpoint under ``base_url``, the proxy's origin (``proxy_base_url``)."""
    return base_url.rstrip("/") + endpoint_path(instance_id, endpoint_id)


def platform_endpoints(instance: ServiceInstance, base_url: str) -> dict[str, dict[str, Any]]:
    """``instance.endpoints`` with each proxyfied one's ``proxyfied_url`` the proxy's own under
    ``base_url``, never the URL the service recorded (user code wrote it)."""
    return {
        name: {
            **endpoint,
            "proxyfied_url": endpoint_url(base_url, instance.id, name) if endpoint["proxyfied"] else None,
        }
        for name, endpoint in instance.endpoints.items()
    }


#: Headers about one connection only (RFC 9110 section 7.6.1), never relayed.
_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"te", b"trailer", b"trailers", b"transfer-encoding", b"upgrade"}
)
#: Request headers dropped besides hop-by-hop ones: credentials, what httpx or websockets set themselves,
#: and forwarding headers a client could forge.
_REQUEST_DROPPED = frozenset(
    {"authorization", "sessionid", "host", "expect", "forwarded"}
    | {"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-prefix"}
)
#: Response headers the platform's own server adds (uvicorn would send them twice).
_RESPONSE_DROPPED = frozenset({b"date", b"server"})
#: Largest websocket message taken from a service (the service may run hostile code).
_WS_MAX_SIZE = 64 * 2**20


def new_client(timeout: float = 60.0) -> httpx.AsyncClient:
    """An httpx client fit for :func:`forward_http`.

    It ignores proxy settings from the environment (targets are on the nodes' network), follows no
    redirects (the browser must see them) and keeps no cookies: a shared jar would hand one user's
    service cookies to the next user.
    """
    jar = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=10.0),
        follow_redirects=False,
        trust_env=False,
        cookies=jar,
    )


def target_url(endpoint_url: str, rest: str, query: str) -> str:
    """The upstream URL for ``rest`` (the decoded path after the public prefix) below ``endpoint_url``.

    Dot segments are resolved within ``rest`` only, so no ``..`` climbs above the endpoint's path; each
    segment is then percent-encoded again, so a decoded ``%2e%2e`` reaches the upstream as a plain name.
    """
    base = urlsplit(endpoint_url)
    segments: list[str] = []
    parts = rest.split("/")
    for index, segment in enumerate(parts):
        last = index == len(parts) - 1
        if segment == "..":
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif segment == ".":
            if last:
                segments.append("")
        else:
            segments.append(quote(segment, safe="!$&'()*+,;=:@"))
    tail = "/".join(segments).lstrip("/")
    path = f"{base.path.rstrip('/')}/{tail}" if rest else base.path or "/"
    url = f"{base.scheme}://{base.netloc}{path}"
    joined = "&".join(q for q in (base.query, query) if q)
    return f"{url}?{joined}" if joined else url


def http_to_ws(url: str) -> str:
    """The websocket URL of an ``http``/``https`` URL."""
    scheme, sep, rest = url.partition("://")
    schemes = {"http": "ws", "https": "wss"}
    if not sep or scheme.lower() not in schemes:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return f"{schemes[scheme.lower()]}://{rest}"


async def forward_http(
    request: Request, upstream: str, client: httpx.AsyncClient, *, endpoint_url: str, prefix: str
) -> Response:
    """Relay ``request`` to ``upstream`` and stream the answer back.

    ``endpoint_url`` is the endpoint's base URL (as given to :func:`target_url`) and ``prefix`` the public
    path it is served under; both map upstream redirects back to public URLs.
    """
    headers = _upstream_headers(request, upstream, prefix)
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    outgoing = httpx.Request(
        request.method, upstream, headers=headers, content=request.stream() if has_body else None
    )
    try:
        answer = await client.send(outgoing, stream=True)
    except httpx.TimeoutException:
        return error_response(504, "gateway_timeout", "the service endpoint did not answer in time", {})
    except httpx.TransportError as error:
        message = f"the service endpoint is unreachable ({type(error).__name__})"
        return error_response(502, "bad_gateway", message, {})
    relayed = [
        (name, _public_location(request, value, endpoint_url, prefix) if name == b"location" else value)
        for name, value in _end_to_end(answer.headers.raw)
        if name not in _RESPONSE_DROPPED and not _sets_platform_cookie(name, value)
    ]
    return _UpstreamResponse(answer, relayed)


async def forward_websocket(websocket: WebSocket, upstream_ws_url: str, *, prefix: str) -> None:
    """Connect to ``upstream_ws_url``, accept ``websocket``, then relay messages until one side closes.

    The upstream is connected first so the client gets the subprotocol the upstream chose, or an HTTP
    502/504 answer (close code 1011 where the server cannot deny handshakes) when it cannot be reached.
    """
    headers = [
        (name, value)
        for name, value in _upstream_headers(websocket, upstream_ws_url, prefix)
        if not name.startswith("sec-websocket-") and name != "user-agent"
    ]
    subprotocols = [Subprotocol(p) for p in websocket.scope.get("subprotocols", [])]
    try:
        upstream = await connect(
            upstream_ws_url,
            subprotocols=subprotocols or None,
            additional_headers=headers,
            user_agent_header=websocket.headers.get("user-agent"),
            proxy=None,
            max_size=_WS_MAX_SIZE,
        )
    except (OSError, InvalidHandshake, TimeoutError) as error:
        await _deny(websocket, error)
        return
    async with upstream:
        await websocket.accept(subprotocol=upstream.subprotocol)
        async with anyio.create_task_group() as group:
            group.start_soon(_client_to_upstream, websocket, upstream, group.cancel_scope)
            await _upstream_to_client(upstream, websocket)
            group.cancel_scope.cancel()


class _UpstreamResponse(StreamingResponse):
    """Streams the upstream body as received (still encoded) and always releases the upstream response."""

    def __init__(self, upstream: httpx.Response, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(upstream.aiter_raw(), status_code=upstream.status_code)
        self.raw_headers = headers
        self._upstream = upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Also when the client went away and this task is being cancelled.
            with anyio.CancelScope(shield=True):
                await self._upstream.aclose()


def _upstream_headers(connection: HTTPConnection, upstream: str, prefix: str) -> list[tuple[str, str]]:
    """The client's end-to-end headers minus the platform's credentials, plus ``X-Forwarded-*``."""
    host = connection.headers.get("host", "")
    headers: list[tuple[str, str]] = []
    for raw_name, raw_value in _end_to_end(connection.headers.raw):
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name in _REQUEST_DROPPED or name == "cookie":
            continue
        if name == "origin" and urlsplit(value).netloc == host:
            # Same-origin requests look same-origin to the upstream; foreign origins stay for it to judge.
            value = _origin(upstream)
        headers.append((name, value))
    cookies = _service_cookies(connection.headers.getlist("cookie"))
    if cookies:
        headers.append(("Cookie", cookies))
    client = connection.client.host if connection.client else "unknown"
    earlier = connection.headers.get("x-forwarded-for")
    headers += [
        ("X-Forwarded-For", f"{earlier}, {client}" if earlier else client),
        ("X-Forwarded-Host", host),
        ("X-Forwarded-Proto", _http_scheme(connection.url.scheme)),
        ("X-Forwarded-Prefix", prefix.rstrip("/")),
    ]
    return headers


def _end_to_end(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers``, names lowercased (as ASGI wants), minus hop-by-hop ones (also those in ``Connection``)."""
    listed = [(name.lower(), value) for name, value in headers]
    named = {
        token.strip()
        for name, value in listed
        if name == b"connection"
        for token in value.lower().split(b",")
    }
    return [
        (name, value)
        for name, value in listed
        if name not in _HOP_BY_HOP and name not in named and not name.startswith(b"proxy-")
    ]


def _service_cookies(headers: list[str]) -> str:
    """The ``Cookie`` pairs without the platform's cookies."""
    pairs = (pair.strip() for header in headers for pair in header.split(";"))
    return "; ".join(p for p in pairs if p and not _platform_cookie(p.partition("=")[0]))


def _sets_platform_cookie(name: bytes, value: bytes) -> bool:
    """Whether an upstream answer tries to set one of the platform's cookies."""
    return name == b"set-cookie" and _platform_cookie(value.split(b"=", 1)[0].decode("latin-1"))


def _platform_cookie(name: str) -> bool:
    return name.strip().lower().startswith(PLATFORM_COOKIE_PREFIX)


def _public_location(request: Request, location: bytes, endpoint_url: str, prefix: str) -> bytes:
    """``location`` on the public prefix when it points below the endpoint URL, else unchanged.

    An absolute URL stays absolute (on the platform's origin), an absolute path stays a path.
    """
    target = urlsplit(location.decode("latin-1"))
    endpoint = urlsplit(endpoint_url)
    elsewhere = target.netloc.lower() != endpoint.netloc.lower() or target.scheme not in ("", endpoint.scheme)
    base = endpoint.path.rstrip("/")
    below = target.path.startswith("/") and (target.path + "/").startswith(base + "/")
    if (target.netloc and elsewhere) or not below:
        return location
    path = prefix.rstrip("/") + target.path[len(base) :]
    public = target._replace(path=path, scheme="", netloc="")
    if target.netloc:
        public = public._replace(
            scheme=_http_scheme(request.url.scheme), netloc=request.headers.get("host", "")
        )
    return public.geturl().encode("latin-1")


def _origin(url: str) -> str:
    """The HTTP origin of an http(s) or ws(s) URL."""
    parts = urlsplit(url)
    return f"{_http_scheme(parts.scheme)}://{parts.netloc}"


def _http_scheme(scheme: str) -> str:
    return {"ws": "http", "wss": "https"}.get(scheme, scheme)


async def _deny(websocket: WebSocket, error: Exception) -> None:
    """Refuse the client's handshake because the upstream could not be reached."""
    if isinstance(error, TimeoutError):
        answer = error_response(504, "gateway_timeout", "the service endpoint did not answer in time", {})
    else:
        reason = (
            f"status {error.response.status_code}"
            if isinstance(error, InvalidStatus)
            else type(error).__name__
        )
        answer = error_response(
            502, "bad_gateway", f"the service endpoint refused the websocket ({reason})", {}
        )
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(answer)
    else:
        await websocket.close(1011, "the service endpoint is unreachable")


async def _client_to_upstream(
    websocket: WebSocket, upstream: ClientConnection, scope: anyio.CancelScope
) -> None:
    """Relay client messages; when the client leaves, close the upstream with its code and stop both pumps."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                await upstream.close(_sendable(message.get("code", 1000), 1000), message.get("reason") or "")
                scope.cancel()
                return
            text = message.get("text")
            await upstream.send(text if text is not None else message.get("bytes") or b"")
    except ConnectionClosed:
        return  # the other pump sees the upstream's close and closes the client


async def _upstream_to_client(upstream: ClientConnection, websocket: WebSocket) -> None:
    """Relay upstream messages; when the upstream closes, close the client with the same code."""
    try:
        while True:
            data = await upstream.recv()
            if isinstance(data, str):
                await websocket.send_text(data)
            else:
                await websocket.send_bytes(data)
    except WebSocketDisconnect:
        return  # the client left; the other pump closes the upstream
    except ConnectionClosed as closed:
        if closed.rcvd is None:
            code, reason = 1011, "the service endpoint went away"
        else:
            code, reason = _sendable(closed.rcvd.code, 1000), closed.rcvd.reason
        with contextlib.suppress(WebSocketDisconnect):
            await websocket.close(code, reason)


def _sendable(code: int, fallback: int) -> int:
    """``code`` if a close frame may carry it (1005 and 1006 only say what happened), else ``fallback``."""
    return code if code in EXTERNAL_CLOSE_CODES or 3000 <= code < 5000 else fallback
