"""Debian's Firefox ESR driven over Marionette (Playwright drives only its own patched Firefox build).

A small driver for the few things the cross-browser test does: open a page, type, click, wait for text.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from support.server_process import free_port

with warnings.catch_warnings():  # mozinfo and distro, under marionette-driver, warn of their own age
    warnings.simplefilter("ignore", DeprecationWarning)
    from marionette_driver import By
    from marionette_driver.marionette import Marionette

FIREFOX = "/usr/bin/firefox-esr"
T = TypeVar("T")


@contextmanager
def firefox(profile_home: Path) -> Iterator[Marionette]:
    """A headless Firefox at 1280 by 800, its profile and home under ``profile_home``, closed on exit."""
    client = Marionette(
        bin=FIREFOX,
        headless=True,
        host="127.0.0.1",
        port=free_port(),
        startup_timeout=120,
        app_args=["-no-remote"],
        workspace=str(profile_home),
        gecko_log=str(profile_home / "gecko.log"),
    )
    client.start_session()
    try:
        client.set_window_rect(width=1280, height=800)
        yield client
    finally:
        client.delete_session()
        client.cleanup()


def wait(find: Callable[[], T], timeout: float = 30) -> T:
    """``find()``'s first truthy answer (errors count as not yet), or a TimeoutError."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            found = find()
        except Exception as error:  # the element is being replaced, the page loading...
            last = error
        else:
            if found:
                return found
        time.sleep(0.2)
    raise TimeoutError(f"not found within {timeout} s (last error: {last})")


def shows_line(client: Marionette, line: str) -> bool:
    """Whether the page's text has ``line`` as a whole line (a heading, say)."""
    text: str = client.find_element(By.TAG_NAME, "body").text
    return line in text.splitlines()


def error_notifications(client: Marionette) -> int:
    return len(client.find_elements(By.CSS_SELECTOR, ".q-notification.bg-negative"))


def log_in(client: Marionette, url: str, name: str, password: str) -> None:
    client.navigate(url)
    wait(lambda: client.find_elements(By.CSS_SELECTOR, 'input[aria-label="User name"]'))[0].send_keys(name)
    client.find_element(By.CSS_SELECTOR, 'input[aria-label="Password"]').send_keys(password)
    client.find_element(By.CSS_SELECTOR, 'button[aria-label="Log in"]').click()
    wait(lambda: client.find_elements(By.CSS_SELECTOR, 'button[aria-label="Account"]'))
