"""Service Automation: start Static_HTTP from Service Activation, watch it run, open its endpoint through the
proxy, finish and clean it; what is offered in each state; other users' instances; hostile variables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import cast

import pytest
from playwright.sync_api import Locator, Page, expect

from portal.conftest import Portal, log_in, screenshot
from runyard.client import ApiError
from runyard.client.documents import ServiceEndpoint, ServiceInstance
from runyard.web.service_controls import endpoint_links

SERVICE, FINISH = "Static_HTTP", "Finish_Static_HTTP"
HOSTILE = "<img src=x onerror=window.pwned=1>"


def _row(page: Page, table: str, instance_id: int) -> Locator:
    return (
        page.get_by_label(table)
        .get_by_role("row")
        .filter(has=page.get_by_role("link", name=f"Instance {instance_id}", exact=True))
    )


def _newest(portal: Portal, token: str) -> ServiceInstance:
    with portal.client(token) as client:
        return max(client.list_service_instances(), key=lambda i: i["id"])


def test_start_static_http_open_its_endpoint_finish_and_clean(page: Page, portal: Portal) -> None:
    token = portal.new_user("sam")
    log_in(page, portal, "sam", path="/services")
    expect(page.get_by_role("tab", name="Service Activation")).to_have_attribute("aria-selected", "true")
    screenshot(page, "services-activation")
    page.get_by_role("button", name=f"Start {SERVICE}").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("PROXYFIED").click()  # a switch: on
    dialog.get_by_label("CONTENT").fill("Hello through the proxy")
    dialog.get_by_role("button", name="Start").click()
    expect(dialog).to_be_hidden()
    instance = _newest(portal, token)

    expect(page).to_have_url(re.compile(r"/services\?tab=active$"))
    row = _row(page, "Activated services", instance["id"])
    expect(row).to_contain_text("RUNNING", timeout=60_000)  # live, from the instance's events
    expect(row.get_by_role("button", name=f"{FINISH} instance {instance['id']}")).to_be_visible()
    # the activation is not an action of a RUNNING instance
    expect(row.get_by_role("button", name=f"{SERVICE} instance {instance['id']}", exact=True)).to_have_count(
        0
    )
    screenshot(page, "services-active")

    endpoint = row.get_by_role("link", name=re.compile(rf"^Endpoint .* of instance {instance['id']}$"))
    with page.context.expect_page() as opened:
        endpoint.click()
    served = opened.value
    expect(served.locator("body")).to_have_text("Hello through the proxy")
    assert "/api/v1/service-instances/" in served.url and "token" not in served.url
    served.close()

    page.get_by_role("link", name=f"Instance {instance['id']}", exact=True).click()
    expect(page).to_have_url(f"{portal.url}/services/instances/{instance['id']}")
    expect(page.get_by_label("Variables")).to_contain_text("Hello through the proxy")
    expect(page.get_by_label("Job submissions")).to_contain_text("VOID -> RUNNING")
    screenshot(page, "service-instance")

    page.get_by_role("button", name=FINISH).click()
    page.get_by_role("dialog").get_by_role("button", name="Run").click()
    expect(page.get_by_role("status").filter(has_text=re.compile("^FINISHED$"))).to_be_visible(timeout=60_000)
    expect(page.get_by_label("Events")).to_contain_text("FINISHED")
    expect(page.get_by_role("button", name="Kill")).to_have_count(0)  # nothing to kill once finished

    page.goto(f"{portal.url}/services?tab=finished")
    finished = _row(page, "Finished services", instance["id"])
    expect(finished).to_contain_text("FINISHED")
    finished.get_by_role("button", name=f"Clean instance {instance['id']}").click()
    page.get_by_role("dialog").get_by_role("button", name="Clean").click()
    expect(finished).to_have_count(0)
    with portal.client(token) as client, pytest.raises(ApiError) as gone:
        client.get_service_instance(instance["id"])
    assert gone.value.status == 404


@pytest.fixture
def olgas_hostile_instance(portal: Portal) -> Iterator[ServiceInstance]:
    """An instance of another user, named and configured with markup, killed at once (no node kept)."""
    with portal.client(portal.new_user("olga")) as client:
        started = client.start_service(SERVICE, {"CONTENT": HOSTILE, "ENDPOINT_ID": "e1"})
        killed = client.kill_service_instance(started["id"])
        yield killed
        client.clean_service_instance(killed["id"])


def test_a_hostile_variable_renders_as_text(
    page: Page, portal: Portal, olgas_hostile_instance: ServiceInstance
) -> None:
    log_in(page, portal, "olga", path=f"/services/instances/{olgas_hostile_instance['id']}")
    expect(page.get_by_label("Variables").get_by_role("cell", name=HOSTILE, exact=True)).to_be_visible()
    assert page.locator("img[src=x]").count() == 0
    assert page.evaluate("window.pwned") is None


def test_another_users_instance_is_not_shown(
    page: Page, portal: Portal, olgas_hostile_instance: ServiceInstance
) -> None:
    portal.new_user("peter")
    page.set_viewport_size({"width": 390, "height": 800})  # a phone: the tabs scroll, the page works
    log_in(page, portal, "peter", path="/services?tab=finished")
    expect(page.get_by_label("Finished services")).to_contain_text("No service instance here.")
    page.get_by_role("tab", name="Service Jobs").click()
    expect(page).to_have_url(re.compile(r"/services\?tab=jobs$"))
    expect(page.get_by_text("No service instance yet.")).to_be_visible()
    page.goto(f"{portal.url}/services/instances/{olgas_hostile_instance['id']}")
    expect(page.get_by_text(f"Service instance {olgas_hostile_instance['id']}:")).to_contain_text(
        "belongs to another user"
    )
    opened = page.request.get(f"{portal.url}/services/instances/{olgas_hostile_instance['id']}/endpoints/e1")
    assert opened.status == 403


def test_endpoint_links_go_through_the_portal_or_are_plain_http() -> None:
    def endpoint(url: str, proxyfied: bool = False) -> ServiceEndpoint:
        return {"url": url, "proxyfied": proxyfied, "proxyfied_url": "http://x/" if proxyfied else None}

    instance = cast(
        ServiceInstance,
        {
            "id": 7,
            "service_id": "MaaS_ML",
            "endpoints": {
                "a/b": endpoint("http://127.0.0.1:9000", proxyfied=True),
                "direct": endpoint("http://127.0.0.1:9001"),
                "script": endpoint("javascript:alert(1)"),
            },
        },
    )
    assert endpoint_links(instance) == [
        {
            "name": "a/b",
            "label": "Audit & Traceability (a/b)",
            "href": "/services/instances/7/endpoints/a%2Fb",
        },
        {"name": "direct", "label": "Audit & Traceability (direct)", "href": "http://127.0.0.1:9001"},
        {"name": "script", "label": "Audit & Traceability (script)", "href": ""},
    ]
