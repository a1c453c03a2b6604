"""Putting the portal's pages into the server's ASGI app."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI

from runyard.web import sessions

#: The browser cookie naming a portal session lives as long as the API's own sessions may.
_COOKIE = "runyard-portal"


def mount(app: FastAPI, api_url: str, key_file: Path, session_ttl: float) -> None:
    """Serve the portal at ``/`` of ``app``, talking to the API at ``api_url`` (a loopback URL).

    ``key_file`` holds the secret signing the portal's cookie (made on first use, kept across restarts
    so that browsers stay logged in). NiceGUI's state is per process: mount it once per process.
    """
    from nicegui import ui  # imported here: a server without a portal does not pay for it

    from runyard.web import pages

    sessions.configure(api_url)
    pages.register()
    ui.run_with(
        app,
        title="runyard",
        favicon="🏗️",
        storage_secret=_secret(key_file),
        session_middleware_kwargs={
            "session_cookie": _COOKIE,
            "same_site": "lax",
            "max_age": int(session_ttl),
        },
        show_welcome_message=False,
        reconnect_timeout=10.0,
    )


def _secret(key_file: Path) -> str:
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(32))
    return key_file.read_text().strip()
