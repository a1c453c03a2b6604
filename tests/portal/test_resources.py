"""The Resources page: nodes live from node events; an admin locks nodes and edits their tokens."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from portal.conftest import Portal, log_in, screenshot


def _row(page: Page, node: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=node, exact=True))


def test_an_admin_locks_and_unlocks_a_node(admin_page: Page, portal: Portal) -> None:
    admin_page.goto(portal.url + "/resources")
    with portal.client() as client:
        node = client.list_nodes()[-1]["name"]
    expect(_row(admin_page, node)).to_contain_text("free")
    screenshot(admin_page, "resources")
    admin_page.get_by_role("button", name=f"Lock {node}").click()
    expect(_row(admin_page, node)).to_contain_text("locked")
    with portal.client() as client:
        assert next(n for n in client.list_nodes() if n["name"] == node)["locked"]
    admin_page.get_by_role("button", name=f"Unlock {node}").click()
    expect(_row(admin_page, node)).to_contain_text("free")


def test_a_lock_from_elsewhere_shows_without_reloading(admin_page: Page, portal: Portal) -> None:
    admin_page.goto(portal.url + "/resources")
    with portal.client() as client:
        node = client.list_nodes()[0]["name"]
        expect(_row(admin_page, node)).to_contain_text("free")
        client.lock_node(node)
        try:
            expect(_row(admin_page, node)).to_contain_text("locked")
        finally:
            client.unlock_node(node)
    expect(_row(admin_page, node)).to_contain_text("free")


def test_tokens_are_added_and_removed_with_bad_ones_refused_beside_the_field(
    admin_page: Page, portal: Portal
) -> None:
    admin_page.goto(portal.url + "/resources")
    with portal.client() as client:
        node = client.list_nodes()[1]["name"]
    admin_page.get_by_role("button", name=f"Add a token to {node}").click()
    admin_page.get_by_role("textbox", name="Token").fill("bad token/")
    admin_page.get_by_role("button", name="Add", exact=True).click()
    expect(admin_page.get_by_role("dialog")).to_contain_text("token")
    admin_page.get_by_role("textbox", name="Token").fill("gpu")
    admin_page.get_by_role("button", name="Add", exact=True).click()
    expect(admin_page.get_by_role("dialog")).to_be_hidden()
    expect(admin_page.get_by_label(f"token gpu of {node}")).to_be_visible()
    with portal.client() as client:
        assert "gpu" in next(n for n in client.list_nodes() if n["name"] == node)["tokens"]
    admin_page.get_by_label(f"token gpu of {node}").get_by_role("button").click()
    expect(admin_page.get_by_label(f"token gpu of {node}")).to_be_hidden()


def test_a_user_sees_nodes_but_no_admin_action(page: Page, portal: Portal) -> None:
    portal.new_user("dave")
    log_in(page, portal, "dave", path="/resources")
    expect(page.get_by_label("Nodes")).to_contain_text("local")
    expect(page.get_by_role("button", name="Lock", exact=False)).to_have_count(0)
