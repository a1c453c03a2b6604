"""Logging in and out of the portal, and what happens when the API's session ends."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from portal.conftest import Portal, log_in, screenshot
from support.server import ADMIN, PASSWORD


def test_a_page_asked_for_before_login_is_shown_after_it(page: Page, portal: Portal) -> None:
    page.goto(f"{portal.url}/resources?x=1")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fresources%3Fx%3D1$"))
    screenshot(page, "login")
    page.get_by_label("User name").fill(ADMIN)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong user name or password")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    log_in(page, portal, path="/resources?x=1")
    expect(page).to_have_url(f"{portal.url}/resources?x=1")


def test_the_home_page_links_every_portal(admin_page: Page, portal: Portal) -> None:
    expect(admin_page.get_by_text(f"Welcome, {ADMIN}.")).to_be_visible()
    screenshot(admin_page, "home")
    for name in ("Workflow Execution", "Scheduling", "Resources", "Catalog", "Service Automation"):
        expect(admin_page.get_by_role("link", name=name).first).to_be_visible()


def test_log_out_revokes_the_token(page: Page, portal: Portal) -> None:
    log_in(page, portal)  # a session of its own: the one ``admin_page`` shares must stay
    page.get_by_role("button", name="Account").click()
    page.get_by_role("menuitem", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(portal.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))


def test_a_revoked_session_sends_the_browser_to_the_login_page(page: Page, portal: Portal) -> None:
    token = portal.new_user("carol")
    log_in(page, portal, "carol")
    with portal.client(token) as client:  # the password changes: every session of carol ends
        client.change_password("carol", "another long password")
    page.reload()
    expect(page.get_by_text("Welcome, carol.")).to_be_visible()  # the portal has not asked the API yet
    page.goto(portal.url + "/resources")
    expect(page).to_have_url(re.compile(r"/login"))


def test_next_never_leaves_the_site(page: Page, portal: Portal) -> None:
    log_in(page, portal, path="/login?next=//evil.example/x")
    expect(page).to_have_url(f"{portal.url}/")


def test_a_browser_id_planted_before_the_login_is_worth_nothing_after_it(
    browser: Browser, portal: Portal
) -> None:
    victim, attacker = browser.new_context(), browser.new_context()
    try:
        victim_page = victim.new_page()
        victim_page.goto(portal.url + "/login")
        planted = victim.cookies()  # what a page on a sibling origin could have set for this host
        assert [cookie["name"] for cookie in planted] == ["runyard-portal"]
        log_in(victim_page, portal)
        assert victim.cookies()[0]["value"] != planted[0]["value"]  # a new id came with the login
        attacker.add_cookies(planted)  # type: ignore[arg-type]
        attacker_page = attacker.new_page()
        attacker_page.goto(portal.url + "/resources")
        expect(attacker_page).to_have_url(re.compile(r"/login\?next=%2Fresources$"))
    finally:
        victim.close()
        attacker.close()


@pytest.mark.parametrize("origin", ["http://evil.example", None])
def test_a_login_posted_from_elsewhere_is_refused(portal: Portal, origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    answer = httpx.post(
        f"{portal.url}/login", data={"username": ADMIN, "password": PASSWORD}, headers=headers
    )
    assert answer.status_code == 403 and "this site's login page" in answer.text
    home = httpx.get(f"{portal.url}/", cookies=answer.cookies)  # whatever id came with it: no session
    assert home.status_code == 307 and home.headers["location"].startswith("/login")


def test_a_login_without_a_password_says_so(page: Page, portal: Portal) -> None:
    page.goto(portal.url + "/login")
    page.get_by_label("User name").fill(ADMIN)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("give your user name and password")
