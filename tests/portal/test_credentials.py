"""The Credentials page: add, replace, delete; a value never comes back to the browser; bad names refused."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from portal.conftest import Portal, log_in, screenshot

SECRET = "s3cr3t-value-never-shown"


def test_a_credential_is_added_replaced_and_deleted_without_its_value_shown(
    page: Page, portal: Portal
) -> None:
    token = portal.new_user("quinn")
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: sent.append(str(frame))))
    log_in(page, portal, "quinn", path="/credentials")
    page.get_by_label("Name", exact=True).fill("AWS_KEY")
    page.get_by_label("Value", exact=True).fill(SECRET)
    page.get_by_role("button", name="Add").click()
    table = page.get_by_label("Credentials", exact=True)
    expect(table).to_contain_text("AWS_KEY")
    expect(page.get_by_label("Value", exact=True)).to_have_value("")
    screenshot(page, "credentials")
    with portal.client(token) as quinn:
        assert quinn.list_credentials() == ["AWS_KEY"]

    page.get_by_role("button", name="Replace AWS_KEY").click()
    page.get_by_label("New value").fill("another")
    page.get_by_role("dialog").get_by_role("button", name="Replace").click()
    expect(page.get_by_role("dialog")).to_be_hidden()

    page.reload()
    expect(table).to_contain_text("AWS_KEY")
    assert SECRET not in page.content()
    assert sent  # the page did talk to the browser through its websocket, and never sent a value back
    assert not any(SECRET in frame or "another" in frame for frame in sent)

    page.get_by_role("button", name="Delete AWS_KEY").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(table).to_contain_text("No credential yet.")
    with portal.client(token) as quinn:
        assert quinn.list_credentials() == []


def test_a_hostile_name_is_refused_beside_the_field(page: Page, portal: Portal) -> None:
    portal.new_user("quinn")
    log_in(page, portal, "quinn", path="/credentials")
    page.get_by_label("Name", exact=True).fill("<img src=x onerror=alert(1)>")
    page.get_by_label("Value", exact=True).fill("v")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("invalid credential name")).to_be_visible()
    expect(page.locator("img[src=x]")).to_have_count(0)
    expect(page.get_by_label("Credentials", exact=True)).not_to_contain_text("img")
