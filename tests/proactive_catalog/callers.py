"""ProActive-style callers: an httpx client on the server's root sending a ``sessionid`` header."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from support.server import LiveServer


@dataclass
class Caller:
    name: str
    token: str
    http: httpx.Client
    """On the server's root (``/catalog``, ``/cloud-automation-service``), with the ``sessionid`` header."""


def proactive_client(server: LiveServer, session: str | None) -> httpx.Client:
    headers = {"sessionid": session} if session is not None else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)
