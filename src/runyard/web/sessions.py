"""Who is logged in, per browser: the API token each one got at login, kept in the server's memory.

The browser holds only NiceGUI's signed browser id (an HttpOnly, SameSite=Lax cookie: a link from elsewhere
opens the page logged in, but no other site's request carries it); the token stays here and goes to the
API from the server side. Logging in gives the browser a new id (:func:`log_in`), so an id planted in a
browser before its owner logs in is worth nothing after. A session ends when the API's token expires or is
revoked (any 401 sends the browser back to the login page), at logout, or when the server restarts.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from nicegui import app, background_tasks
from starlette.requests import Request

from runyard.client import AsyncClient

_api_url = ""
_by_browser: dict[str, Session] = {}


@dataclass
class Session:
    user: str
    admin: bool
    expires_at: float
    client: AsyncClient = field(repr=False)
    """The SDK's async client on the API, with this person's token."""

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


def configure(api_url: str) -> None:
    global _api_url
    _api_url = api_url


def _browser_id() -> str:
    browser_id: str = app.storage.browser["id"]
    return browser_id


def current() -> Session | None:
    """The session of the browser asking, if it has one that has not expired."""
    session = _by_browser.get(_browser_id())
    if session is not None and session.expired:
        forget()
        return None
    return session


async def log_in(request: Request, user: str, password: str) -> Session:
    """Open an API session for the browser of ``request`` (an HTTP request whose answer is not sent yet:
    the browser gets a new id with it); the SDK's :class:`ApiError` tells why when refused."""
    client = AsyncClient(_api_url)
    try:
        answer = await client.login(user, password)
    except BaseException:
        await client.aclose()
        raise
    session = Session(answer["user"], answer["role"] == "admin", answer["expires_at"], client)
    previous = request.session.get("id")
    ended = [browser for browser, held in _by_browser.items() if held.expired or browser == previous]
    for browser in ended:  # a browser that never came back is dropped when its token has expired
        await _by_browser.pop(browser).client.aclose()
    browser = str(uuid.uuid4())
    request.session["id"] = browser
    _by_browser[browser] = session
    return session


async def log_out() -> None:
    """Revoke this browser's token on the API and forget it."""
    session = _by_browser.get(_browser_id())
    if session is None:
        return
    try:
        await session.client.logout()
    finally:
        forget()


def forget() -> None:
    """Drop this browser's session without calling the API (its token was refused or has expired)."""
    session = _by_browser.pop(_browser_id(), None)
    if session is not None:  # its client's connections are closed in the background
        background_tasks.create(session.client.aclose(), name="close a portal session's client")


def count() -> int:
    """Open portal sessions (what the memory benchmark divides by)."""
    return len(_by_browser)
