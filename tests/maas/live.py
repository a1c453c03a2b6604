"""A model server running in this process on a real uvicorn, on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from starlette.types import ASGIApp

MASTER = "master-token-for-the-tests-0123456789"


@dataclass
class Live:
    """A running server: its URL (with the base path) and a client holding a user token."""

    url: str
    client: httpx.Client

    def token(self, user: str = "user") -> str:
        answer = self.client.post(f"{self.url}api/get_token", data={"user": user}, headers=bearer(MASTER))
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["token"]
        return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def live(app: ASGIApp, base_path: str = "/") -> Iterator[Live]:
    """Serve ``app`` with uvicorn in a thread until the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        with httpx.Client(timeout=60) as client:
            yield Live(f"http://127.0.0.1:{port}{base_path}", client)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
