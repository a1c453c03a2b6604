"""Two origins on one app: the service proxy on a port of its own, everything else on the main port.

Proxied endpoints serve pages that user code wrote (hostile content). On the portal's origin, their
scripts could read the portal's pages with the visitor's cookie and drive it as the visitor. So when
the portal is served, the server listens on a second socket and this middleware, told apart by the
local socket a connection arrived on (``scope["server"]``), keeps each origin to its own paths:

- on the proxy's socket only the proxy's paths are served; anything else (portal, API) answers 404;
- on the main socket the proxy's paths answer a 307 to the same path and query on the proxy's origin
  (a WebSocket is accepted and closed at once, its close reason naming that origin);
- on the main socket a request whose ``Origin`` is the proxy's origin is refused (403, or a WebSocket
  closed before its handshake): a service page gets no say in the portal or the API, even blindly.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from runyard.api.errors import send_error

#: ``/api/v1/service-instances/{id}/endpoints/{endpoint_id}`` and everything under it.
PROXY_PATH = re.compile(r"/api/v1/service-instances/[^/]+/endpoints/[^/]+(?:/.*)?", re.DOTALL)
#: Most bytes of a WebSocket close reason.
_MAX_REASON = 123
_POLICY_VIOLATION = 1008


def is_proxy_path(path: str) -> bool:
    return PROXY_PATH.fullmatch(path) is not None


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower case, without the scheme's default port."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    host = f"[{host}]" if ":" in host else host
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" if port is None or port == default else f"{scheme}://{host}:{port}"


class ServiceOrigin:
    """ASGI middleware: routes by the local port (``proxy_port`` is the proxy's socket)."""

    def __init__(self, app: ASGIApp, proxy_port: int, proxy_url: str) -> None:
        self.app = app
        self.proxy_port = proxy_port
        self.proxy_url = proxy_url.rstrip("/")
        self.proxy_origin = origin_of(proxy_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        server = scope.get("server")
        on_proxy = server is not None and server[1] == self.proxy_port
        proxied = is_proxy_path(scope["path"])
        if on_proxy and not proxied:
            await self._refuse(scope, receive, send, 404, "not_found", "only service endpoints are here")
        elif on_proxy:
            await self.app(scope, receive, send)
        elif proxied:
            await self._elsewhere(scope, receive, send)
        elif self._from_services(scope):
            message = "requests from the services' origin are refused here"
            await self._refuse(scope, receive, send, 403, "forbidden", message)
        else:
            await self.app(scope, receive, send)

    def _from_services(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"origin":
                return origin_of(value.decode("latin-1")) == self.proxy_origin
        return False

    async def _elsewhere(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A proxy path on the main socket: sent to the proxy's origin."""
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else scope["path"]
        query = scope["query_string"].decode("latin-1")
        location = f"{self.proxy_url}{path}" + (f"?{query}" if query else "")
        if scope["type"] == "http":
            headers = [(b"location", location.encode("latin-1")), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 307, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if (await receive())["type"] != "websocket.connect":
            return
        reason = f"service endpoints are served on {self.proxy_origin}"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": _POLICY_VIOLATION, "reason": _clip(reason)})

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, error: str, message: str
    ) -> None:
        if scope["type"] == "http":
            await send_error(send, status, error, message, None)
            return
        if (await receive())["type"] == "websocket.connect":  # closed before the handshake: a 403
            await send({"type": "websocket.close", "code": _POLICY_VIOLATION, "reason": _clip(message)})


def _clip(reason: str) -> str:
    return reason.encode()[:_MAX_REASON].decode(errors="ignore")
