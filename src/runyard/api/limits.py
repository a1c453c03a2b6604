"""Limits on what a request may carry: a body size (413) and no NUL character in its URL (400).

A few routes take larger bodies (:class:`Uploads`: the App Engine's multipart uploads, which spool to
disk): the size is chosen from the method and path, before any route runs.

PostgreSQL text cannot hold NUL: refusing it at the door keeps every route from turning such a
path or query value into a database error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard.api.errors import TrackedSend, send_error


class BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Uploads:
    """Routes (method, full-match path pattern) whose multipart bodies may reach ``max_bytes``."""

    routes: Sequence[tuple[str, re.Pattern[str]]]
    max_bytes: int

    def limit(self, scope: Scope, default: int) -> int:
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if not content_type.lower().startswith(b"multipart/form-data"):
            return default  # a body read whole (JSON) keeps to the default, whatever the route
        path, method = scope["path"], scope["method"]
        chosen = any(method == m and pattern.fullmatch(path) for m, pattern in self.routes)
        return self.max_bytes if chosen else default


class RequestLimits:
    """ASGI middleware: checks the URL and ``Content-Length`` up front, counts streamed (chunked) bodies."""

    def __init__(self, app: ASGIApp, max_bytes: int, uploads: Uploads | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
            await send_error(send, 400, "invalid_request", "a NUL character is not allowed in a URL", None)
            return
        limit = self.max_bytes if self.uploads is None else self.uploads.limit(scope, self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, limit)
            return
        received = 0
        tracked = TrackedSend(send)

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, tracked)
        except BodyTooLarge:
            if not tracked.started:
                await self._too_large(send, limit)

    @staticmethod
    async def _too_large(send: Send, limit: int) -> None:
        message = f"the request body is larger than {limit} bytes"
        await send_error(send, 413, "too_large", message, {"max_bytes": limit})
