"""The Resources page's node sources: an admin adds and removes one; a user only sees them."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from portal.conftest import Portal, log_in, screenshot


def test_an_admin_adds_and_removes_a_node_source(admin_page: Page, portal: Portal) -> None:
    admin_page.goto(portal.url + "/resources")
    table = admin_page.get_by_label("Node sources")
    expect(table.get_by_role("row").filter(has_text="local")).to_contain_text("DEPLOYED")
    expect(admin_page.get_by_label("Nodes", exact=True)).to_contain_text("FREE")
    admin_page.get_by_role("button", name="Add a node source").click()
    dialog = admin_page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("bad name")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(dialog).to_contain_text("name: letters, digits")  # refused, said in the dialog, still open
    dialog.get_by_label("Name").fill("browser")
    dialog.get_by_label("Nodes").fill("1")
    dialog.get_by_role("button", name="Add", exact=True).click()
    expect(dialog).to_be_hidden()
    row = table.get_by_role("row").filter(has_text="browser")
    expect(row).to_contain_text("runtime")
    expect(admin_page.get_by_role("cell", name="browser-1", exact=True)).to_be_visible()
    screenshot(admin_page, "resources-node-sources")
    admin_page.get_by_role("button", name="Remove node source browser").click()
    admin_page.get_by_role("button", name="Remove", exact=True).click()
    expect(row).to_have_count(0)
    expect(admin_page.get_by_role("cell", name="browser-1", exact=True)).to_have_count(0)
    with portal.client() as client:
        assert [s["name"] for s in client.list_node_sources()] == ["local"]
    expect(table.get_by_role("button", name="Remove node source local")).to_have_count(0)  # the config's


def test_a_user_sees_the_node_sources_but_cannot_change_them(page: Page, portal: Portal) -> None:
    portal.new_user("erin")
    log_in(page, portal, "erin", path="/resources")
    expect(page.get_by_label("Node sources")).to_contain_text("local")
    expect(page.get_by_role("button", name="Add a node source")).to_have_count(0)
