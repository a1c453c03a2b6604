"""Every page of the navigation opens without an error in Chromium (wide and narrow) and in Firefox."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from portal import firefox
from portal.conftest import Portal, log_in
from runyard.web.layout import NAVIGATION
from support.needs import missing
from support.server import ADMIN, PASSWORD

NARROW = {"width": 390, "height": 844}


def _shows(page: Page, title: str) -> None:
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(page.locator(".q-notification.bg-negative")).to_have_count(0)


@pytest.mark.parametrize(("title", "path"), [(title, path) for title, path, _ in NAVIGATION])
def test_each_page_opens_without_an_error(admin_page: Page, portal: Portal, title: str, path: str) -> None:
    admin_page.goto(portal.url + path)
    _shows(admin_page, title)


def test_a_narrow_window_keeps_every_page_within_its_width(browser: Browser, portal: Portal) -> None:
    context = browser.new_context(viewport=NARROW)  # type: ignore[arg-type]
    page = context.new_page()
    try:
        log_in(page, portal)
        for title, path, _ in NAVIGATION:
            page.goto(portal.url + path)
            _shows(page, title)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= NARROW["width"], f"{path} is {width} px wide on a {NARROW['width']} px window"
    finally:
        context.close()


# marionette-driver leaves the socket of its port probe unclosed
@pytest.mark.filterwarnings("ignore:Exception ignored in. <socket:pytest.PytestUnraisableExceptionWarning")
def test_firefox_shows_every_page(portal: Portal, tmp_path: Path) -> None:
    if not Path(firefox.FIREFOX).exists():
        missing(f"{firefox.FIREFOX} is missing (apt-get install firefox-esr, or run scripts/test)")
    with firefox.firefox(tmp_path) as client:
        firefox.log_in(client, portal.url + "/", ADMIN, PASSWORD)
        for title, path, _ in NAVIGATION:
            client.navigate(portal.url + path)
            firefox.wait(partial(firefox.shows_line, client, title))
            assert firefox.error_notifications(client) == 0, path
