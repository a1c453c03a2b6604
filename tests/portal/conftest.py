"""One real ``runyard server`` (with its portal) and one headless Chromium for every portal test.

The tests of a worker share them, and they stop when the worker leaves the package (a worker may come
back to it: they start again). Not longer: Playwright's sync API keeps an event loop running in the main
thread while it is open, and later tests calling ``asyncio.run`` must not see it. Each test makes the
users and objects it needs (a test may run first on its worker). xdist's ``loadgroup`` would keep them
on one worker, but with pytest 9.2 and xdist 3.8 it groups nothing here (the group never reaches the node
ids: tried with a four-test file). Each test gets a fresh browser context (cookies, storage), 1280 by 800.
Set ``RUNYARD_SCREENSHOTS=DIR`` to keep the pages' screenshots there (``docs/portal`` is made this way).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    StorageState,
    expect,
    sync_playwright,
)

from runyard.client import Client
from support.needs import missing
from support.server import ADMIN, PASSWORD
from support.server_process import announced_proxy_url, free_port, server_process

CHROMIUM = "/usr/bin/chromium"
#: As ../shared/reference/what-runs-here.md: no sandbox (root), no GPU, nothing sent off the machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
#: How long a page may take to show what a test waits for (the server is shared with other work).
expect.set_options(timeout=15_000)


@dataclass
class Portal:
    url: str
    data_dir: Path
    admin_token: str
    proxy_url: str = ""
    """The services' origin (proxied endpoints; another port than the portal's)."""

    def client(self, token: str | None = None) -> Client:
        """The SDK on this server, as the admin unless given another token."""
        return Client(self.url, token or self.admin_token)

    def new_user(self, name: str, *, admin: bool = False) -> str:
        """Create ``name`` (password ``PASSWORD``) if missing; returns its token."""
        with self.client() as client:
            if name not in {user["name"] for user in client.list_users()}:
                client.add_user(name, PASSWORD, admin=admin)
        return login(self.url, name)


def login(url: str, name: str, password: str = PASSWORD) -> str:
    answer = httpx.post(f"{url}/api/v1/sessions", json={"username": name, "password": password})
    answer.raise_for_status()
    token: str = answer.json()["token"]
    return token


@pytest.fixture(scope="package")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data_dir = tmp_path_factory.mktemp("portal")
    command = [sys.executable, "-m", "runyard", "user", "add", ADMIN, "--admin", "--password-stdin"]
    added = subprocess.run(
        [*command, "--data-dir", str(data_dir)],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    port = free_port()
    with server_process(data_dir, port, "--nodes", "3", "--proxy-port", "0") as process:
        url = f"http://127.0.0.1:{port}"
        yield Portal(url, data_dir, login(url, ADMIN), announced_proxy_url(process))


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is missing (apt-get install chromium, or run scripts/test)")
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


def _new_page(browser: Browser, state: StorageState | None = None) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=VIEWPORT, storage_state=state)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    return context, context.new_page()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context, opened = _new_page(browser)
    yield opened
    context.close()


def log_in(page: Page, portal: Portal, name: str = ADMIN, password: str = PASSWORD, path: str = "/") -> None:
    """Open ``path`` and log in on the page it sends to."""
    page.goto(portal.url + path)
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Account")).to_be_visible()
    connected(page)


def connected(page: Page) -> None:
    """Wait until the page's socket to the server is up: pages are drawn as sent, before it connects, and
    what the user does before (a key pressed, a click) is dropped by the browser's NiceGUI."""
    page.wait_for_function("() => window.did_handshake === true")


@pytest.fixture(scope="package")
def admin_cookies(browser: Browser, portal: Portal) -> StorageState:
    """The admin's portal session, logged in once: a login hashes at the production cost (~1 s a page).
    A test that logs out logs in by itself (:func:`log_in`), or every later ``admin_page`` would be out."""
    context, opened = _new_page(browser)
    log_in(opened, portal)
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def admin_page(browser: Browser, portal: Portal, admin_cookies: StorageState) -> Iterator[Page]:
    """A page of a browser of its own, logged in as the server's admin, on the home page."""
    context, opened = _new_page(browser, admin_cookies)
    opened.goto(portal.url + "/")
    expect(opened.get_by_role("button", name="Account")).to_be_visible()
    connected(opened)
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> None:
    """Keep the page's look under ``$RUNYARD_SCREENSHOTS/NAME.png`` when that is set."""
    folder = os.environ.get("RUNYARD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


__all__ = ["Portal", "connected", "log_in", "screenshot"]
