"""Running a server program: bind, say so in one line, serve with uvicorn until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import socket

import uvicorn
from starlette.types import ASGIApp

from runyard.maas.settings import ServerSettings
from runyard.maas.tls import certificate


def serve(app: ASGIApp, settings: ServerSettings, label: str) -> None:
    """Serve ``app`` on the settings' host and port (HTTPS with a self-signed certificate when asked).

    The socket listens before the line ``<label> listening on <url>`` is printed, so a client reading
    that line can connect at once. SIGTERM (or SIGINT) stops it cleanly: the lifespan flushes the state
    and the exit status is 0.
    """
    tls: dict[str, str] = {}
    if settings.https:
        cert, key = certificate(settings.state_dir / "tls", settings.host)
        tls = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((settings.host, settings.port))
    listener.listen(2048)
    port = listener.getsockname()[1]
    scheme = "https" if settings.https else "http"
    print(f"{label} listening on {scheme}://{settings.host}:{port}{settings.base_path}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", **tls)  # type: ignore[arg-type]
    for stop in (signal.SIGTERM, signal.SIGINT):
        # uvicorn re-raises the signal that stopped it once it has shut down: handled, the exit status is 0.
        signal.signal(stop, lambda number, frame: None)
    uvicorn.Server(config).run(sockets=[listener])
