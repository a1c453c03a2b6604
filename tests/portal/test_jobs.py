"""The Scheduling jobs table: statuses live from events, filters and sort in the URL, paging, a user's own
jobs only, hostile names shown as text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from portal.conftest import Portal, connected, log_in, screenshot
from runyard.client import Client


def workflow(name: str, seconds: float = 0, project: str = "portal") -> str:
    return f"""
name: {name!r}
project_name: {project!r}
tasks:
  - name: Work
    script: {{language: cpython, code: "import time; time.sleep({seconds})"}}
"""


@pytest.fixture(scope="module")
def erin(portal: Portal) -> Iterator[Client]:
    """A user of the jobs tests, with three finished jobs: Alpha, Beta, Gamma."""
    with portal.client(portal.new_user("erin")) as client:
        for name in ("Beta", "Alpha", "Gamma"):
            client.wait_for_job(client.submit(workflow(name)), timeout=60)
        yield client


def rows(page: Page) -> Locator:
    return page.get_by_label("Jobs", exact=True).locator("tbody tr")


def row(page: Page, job_id: int) -> Locator:
    return rows(page).filter(has=page.get_by_role("link", name=f"Job {job_id}", exact=True))


def test_jobs_are_listed_and_a_new_one_runs_to_finished_live(
    page: Page, portal: Portal, erin: Client
) -> None:
    log_in(page, portal, "erin", path="/jobs")
    expect(rows(page)).to_have_count(3)
    expect(rows(page).first).to_contain_text("Gamma")
    expect(rows(page).first).to_contain_text("FINISHED")
    expect(page.get_by_label("Jobs by status")).to_contain_text("3 FINISHED")
    job_id = erin.submit(workflow("Live", seconds=1.5))
    expect(row(page, job_id)).to_contain_text("RUNNING")  # appears without a reload, then changes
    expect(row(page, job_id)).to_contain_text("FINISHED")
    expect(row(page, job_id)).to_contain_text("1/1")
    screenshot(page, "jobs")


def test_filters_go_to_the_url_and_survive_a_reload(page: Page, portal: Portal, erin: Client) -> None:
    log_in(page, portal, "erin", path="/jobs")
    page.get_by_label("Name", exact=True).fill("*a")
    page.get_by_label("Name", exact=True).press("Enter")
    expect(rows(page)).to_have_count(3)  # Alpha, Beta, Gamma; not Live
    expect(page).to_have_url(f"{portal.url}/jobs?name=%2Aa")
    page.get_by_role("button", name="FINISHED").click()
    expect(page).to_have_url(f"{portal.url}/jobs?status=FINISHED&name=%2Aa")
    page.reload()
    expect(rows(page)).to_have_count(3)
    expect(page.get_by_label("Name", exact=True)).to_have_value("*a")
    expect(page.get_by_role("combobox", name="Status")).to_have_value("FINISHED")
    page.goto(f"{portal.url}/jobs?status=KILLED")
    expect(page.get_by_label("Jobs", exact=True)).to_contain_text("No job matches these filters.")
    page.goto(f"{portal.url}/jobs?status=NOPE&page=abc&sort=workflow&rows=7")  # an odd bookmark still opens
    expect(rows(page).first).to_contain_text("FINISHED")


def test_sorting_by_a_column_is_the_api_s(page: Page, portal: Portal, erin: Client) -> None:
    log_in(page, portal, "erin", path="/jobs?name=*a")
    expect(rows(page).first).to_contain_text("Gamma")
    page.get_by_role("columnheader", name="Name").click()
    expect(page).to_have_url(f"{portal.url}/jobs?name=%2Aa&sort=name")
    expect(rows(page).first).to_contain_text("Alpha")
    page.get_by_role("columnheader", name="Name").click()
    expect(page).to_have_url(f"{portal.url}/jobs?name=%2Aa&sort=-name")
    expect(rows(page).first).to_contain_text("Gamma")
    page.reload()
    expect(rows(page).last).to_contain_text("Alpha")


def test_pages_of_ten(page: Page, portal: Portal) -> None:
    with portal.client(portal.new_user("pager")) as client:
        ids = [client.submit(workflow(f"Paged {n:02}")) for n in range(12)]
        for job_id in ids:
            client.wait_for_job(job_id, timeout=60)
    log_in(page, portal, "pager", path="/jobs?rows=10")
    expect(rows(page)).to_have_count(10)
    expect(page.get_by_label("Jobs", exact=True)).to_contain_text("1-10 of 12")
    page.get_by_role("button", name="Next page").click()
    expect(rows(page)).to_have_count(2)
    expect(page).to_have_url(f"{portal.url}/jobs?page=2&rows=10")
    expect(rows(page).last).to_contain_text("Paged 00")


def test_a_user_sees_only_their_jobs_and_hostile_names_as_text(page: Page, portal: Portal) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    with portal.client() as admin:
        theirs = admin.submit(workflow("Admin's own"))
    with portal.client(portal.new_user("mallory")) as mallory:
        mine = mallory.submit(workflow(hostile, project="<b>bold</b>"))
        mallory.wait_for_job(mine, timeout=60)
    alerts: list[str] = []

    def alerted(dialog: Dialog) -> None:
        alerts.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", alerted)
    log_in(page, portal, "mallory", path=f"/jobs?owner=admin&name={theirs}")  # owner: ignored for a user
    page.goto(f"{portal.url}/jobs?owner=admin")
    expect(row(page, mine)).to_contain_text(hostile)
    expect(row(page, mine)).to_contain_text("<b>bold</b>")
    expect(rows(page)).to_have_count(1)
    expect(page.get_by_label("Jobs", exact=True).locator("img, b")).to_have_count(0)
    expect(page.get_by_label("Owner")).to_have_count(0)  # an admin's filter only
    assert alerts == []


def test_an_admin_filters_by_owner_and_a_narrow_window_keeps_table_and_filters(
    admin_page: Page, portal: Portal, erin: Client
) -> None:
    admin_page.goto(f"{portal.url}/jobs")
    connected(admin_page)
    admin_page.get_by_label("Owner").fill("erin")
    admin_page.get_by_label("Owner").press("Enter")
    expect(admin_page).to_have_url(f"{portal.url}/jobs?owner=erin")
    expect(rows(admin_page).first).to_contain_text("erin")
    expect(rows(admin_page).filter(has_not_text="erin")).to_have_count(0)
    admin_page.set_viewport_size({"width": 400, "height": 800})
    admin_page.reload()
    expect(admin_page.get_by_label("Name", exact=True)).to_be_visible()
    expect(rows(admin_page).first.get_by_role("link").first).to_be_visible()
