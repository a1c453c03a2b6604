"""The Notifications page: live arrivals, links to what they are about, mark read, delete, hostile text."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from portal.conftest import Portal, log_in, screenshot
from runyard.client.documents import Notification
from runyard.web.pages.notifications import about

HOSTILE = "<img src=x onerror=alert(1)>"


def _card(page: Page, notification: Notification) -> Locator:
    return page.get_by_role("article", name=f"Notification {notification['id']}", exact=True)


def test_a_notification_sent_through_the_api_appears_live_and_is_read_then_deleted(
    page: Page, portal: Portal
) -> None:
    with portal.client(portal.new_user("nora")) as nora:
        old = nora.create_notification(
            "drift", "Drift on sepal_length", "ADWIN saw a change", {"feature": "x"}
        )
        log_in(page, portal, "nora", path="/notifications")
        expect(_card(page, old)).to_contain_text("Drift on sepal_length")
        new = nora.create_notification("model.error", HOSTILE, HOSTILE)
        arrived = _card(page, new)
        expect(arrived).to_contain_text(HOSTILE)  # without reloading, and as text
        expect(page.locator("img[src=x]")).to_have_count(0)
        expect(page.get_by_role("article").first).to_have_attribute("aria-label", f"Notification {new['id']}")
        screenshot(page, "notifications")

        page.get_by_role("button", name=f"Mark notification {old['id']} read").click()
        expect(page.get_by_role("button", name=f"Mark notification {old['id']} read")).to_have_count(0)
        assert next(n for n in nora.list_notifications()["notifications"] if n["id"] == old["id"])["read_at"]
        page.get_by_role("button", name=f"Delete notification {new['id']}").click()
        expect(arrived).to_have_count(0)
        assert [n["id"] for n in nora.list_notifications()["notifications"]] == [old["id"]]

        page.goto(portal.url + "/notifications?unread=true")
        expect(page.get_by_text("No unread notification.")).to_be_visible()
        nora.delete_notification(old["id"])


def test_another_users_notifications_are_not_shown_even_live(page: Page, portal: Portal) -> None:
    with portal.client(portal.new_user("olga")) as olga, portal.client(portal.new_user("pete")) as pete:
        theirs = pete.create_notification("drift", "Pete's drift")
        mine = olga.create_notification("note", "Olga's own")
        log_in(page, portal, "olga", path="/notifications")
        expect(_card(page, mine)).to_be_visible()
        expect(_card(page, theirs)).to_have_count(0)
        pete.create_notification("drift", "Pete's second drift")
        olga.create_notification("note", "Olga's second")
        expect(page.get_by_text("Olga's second")).to_be_visible()
        expect(page.get_by_text("Pete's")).to_have_count(0)


def test_a_notification_links_to_its_service_instance_or_job() -> None:
    base: Notification = {
        "id": 1,
        "owner": "olga",
        "created_at": 0.0,
        "kind": "drift",
        "title": "t",
        "message": "",
        "details": {},
        "source": "user:olga",
        "service_instance_id": None,
        "read_at": None,
    }
    assert about(base) is None
    assert about({**base, "source": "job:42"}) == ("Job 42", "/jobs/42")
    assert about({**base, "source": "service-instance:7", "service_instance_id": 7}) == (
        "Service instance 7",
        "/services/instances/7",
    )
