"""Limits on what a request may carry: a body size (413) and no NUL character in its URL (400).

PostgreSQL text cannot hold NUL: refusing it at the door keeps every route from turning such a
path or query value into a database error.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard.api.errors import TrackedSend, send_error


class BodyTooLarge(Exception):
    pass


class RequestLimits:
    """ASGI middleware: checks the URL and ``Content-Length`` up front, counts streamed (chunked) bodies."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
            await send_error(send, 400, "invalid_request", "a NUL character is not allowed in a URL", None)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        received = 0
        tracked = TrackedSend(send)

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, tracked)
        except BodyTooLarge:
            if not tracked.started:
                await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        message = f"the request body is larger than {self.max_bytes} bytes"
        await send_error(send, 413, "too_large", message, {"max_bytes": self.max_bytes})
