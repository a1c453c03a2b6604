"""Job Analytics: search, panels, charts (a series per variable and result, line or bar), the execution
table filtered and exported as CSV, filters applied to the charts; another user's jobs stay out and a
hostile variable value is text."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from playwright.sync_api import Locator, Page, expect

from portal.conftest import Portal, log_in, screenshot
from runyard.client import Script, ScriptExecutable, Task, Variable, Workflow

WORKFLOW = "Train_Analytics"
HOSTILE = "<img src=x onerror=alert(1)>"
ANALYST = "ana"
OTHER = "otto"


@dataclass
class Jobs:
    mine: list[int]
    fast: list[int]
    """Of ``mine``, those whose MODE is fast."""
    others: list[int]


def _workflow(lr: str, epochs: str, mode: str) -> Workflow:
    code = "result = float(variables['LR']) * 100"
    fit = Task("Fit", ScriptExecutable(Script("cpython", code)))
    values = {"LR": lr, "EPOCHS": epochs, "MODE": mode, "NOTE": HOSTILE}
    return Workflow(WORKFLOW, tasks=[fit], variables=[Variable(k, v) for k, v in values.items()])


@pytest.fixture(scope="module")
def jobs(portal: Portal) -> Jobs:
    """Four finished jobs of the analyst (two fast), one of another user with the same workflow."""
    runs = [("0.01", "10", "fast"), ("0.02", "20", "slow"), ("0.03", "10", "fast"), ("0.04", "30", "slow")]
    submitted: dict[str, list[int]] = {}
    for user, planned in ((ANALYST, runs), (OTHER, runs[:1])):
        with portal.client(portal.new_user(user)) as client:
            submitted[user] = [client.submit(_workflow(*run)) for run in planned]
            for job_id in submitted[user]:
                assert client.wait_for_job(job_id, timeout=60)["status"] == "FINISHED"
    mine = submitted[ANALYST]
    return Jobs(mine, [mine[0], mine[2]], submitted[OTHER])


def _table(page: Page) -> Locator:
    return page.get_by_label("Execution table")


def _rows(page: Page) -> Locator:
    return _table(page).locator(".ag-center-cols-container [role=row]")


def _chart(page: Page, title: str) -> Locator:
    return page.get_by_role("region", name=title, exact=True)


def _description(page: Page, title: str) -> Locator:
    return _chart(page, title).locator(f"[aria-label^='{title} of']")


def test_a_search_shows_the_panels_charts_and_table_of_ones_own_jobs(
    page: Page, portal: Portal, jobs: Jobs
) -> None:
    log_in(page, portal, ANALYST, path="/analytics")
    page.get_by_label("Workflow names").fill("Train_Ana*")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(portal.url + "/analytics?workflow=Train_Ana%2A")
    expect(page.get_by_label("Jobs found")).to_have_text("4")
    expect(page.get_by_role("region", name="Jobs")).to_contain_text("4 successful (100%)")
    expect(page.get_by_label("Finished with issues: 0 (show them)")).to_be_visible()
    expect(page.get_by_role("region", name="Mean duration")).to_contain_text(" s")
    expect(_description(page, "Durations")).to_have_attribute(
        "aria-label", "Durations of 4 jobs, 1 series drawn as lines: duration (s)."
    )
    expect(_description(page, "Variables")).to_have_attribute(
        "aria-label", "Variables of 4 jobs, 2 series drawn as lines: EPOCHS; LR."
    )
    expect(_description(page, "Results")).to_have_attribute(
        "aria-label", "Results of 4 jobs, 1 series drawn as lines: Fit."
    )
    expect(_rows(page)).to_have_count(4)
    for job_id in jobs.others:
        expect(_table(page).get_by_role("link", name=str(job_id), exact=True)).to_have_count(0)
    page.get_by_role("button", name="Columns").click()
    columns = page.get_by_role("dialog")
    columns.get_by_label("Pin variables.NOTE").get_by_role("button", name="left").click()
    columns.get_by_role("checkbox", name="status").click()
    columns.get_by_role("button", name="Close").click()
    expect(_table(page).get_by_role("columnheader", name="status")).to_have_count(0)
    expect(_table(page).locator(".ag-pinned-left-header")).to_contain_text("variables.NOTE")
    hostile = _table(page).get_by_role("gridcell", name=HOSTILE, exact=True)
    expect(hostile).to_have_count(4)
    expect(page.locator("img[src=x]")).to_have_count(0)
    screenshot(page, "analytics")
    _chart(page, "Variables").get_by_role("button", name="Bar").click()
    expect(_description(page, "Variables")).to_have_attribute(
        "aria-label", "Variables of 4 jobs, 2 series drawn as bars: EPOCHS; LR."
    )
    expect(_description(page, "Results")).to_have_attribute(
        "aria-label", "Results of 4 jobs, 1 series drawn as lines: Fit."
    )


def test_table_filters_narrow_the_rows_the_csv_and_on_demand_the_charts(
    page: Page, portal: Portal, jobs: Jobs
) -> None:
    log_in(page, portal, ANALYST, path=f"/analytics?workflow={WORKFLOW}")
    expect(_rows(page)).to_have_count(4)
    page.get_by_label("variables.MODE Filter Input").fill("fast")
    expect(_rows(page)).to_have_count(2)
    expect(page).to_have_url(
        f"{portal.url}/analytics?workflow={WORKFLOW}&filter={quote('variables.MODE~fast')}"
    )
    expect(page.get_by_role("region", name="Executions")).to_contain_text("2 jobs")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    with open(download.value.path(), newline="") as file:
        exported = list(csv.DictReader(file))
    assert sorted(int(row["id"]) for row in exported) == sorted(jobs.fast)
    assert {row["variables.NOTE"] for row in exported} == {HOSTILE}
    expect(_description(page, "Durations")).to_have_attribute("aria-label", re.compile("of 4 jobs"))
    page.get_by_role("switch", name="Apply filters to charts").click()
    expect(_description(page, "Durations")).to_have_attribute("aria-label", re.compile("of 2 jobs"))
    expect(page).to_have_url(
        f"{portal.url}/analytics?workflow={WORKFLOW}&filter={quote('variables.MODE~fast')}&charts=filtered"
    )
    page.get_by_role("button", name="Clear filters").click()
    expect(_rows(page)).to_have_count(4)
    expect(_description(page, "Durations")).to_have_attribute("aria-label", re.compile("of 4 jobs"))
    expect(page.get_by_role("switch", name="Apply filters to charts")).not_to_be_checked()


def test_a_bookmarked_search_opens_as_it_was_and_others_jobs_are_refused(
    page: Page, portal: Portal, jobs: Jobs
) -> None:
    path = f"/analytics?workflow={WORKFLOW}&filter={quote('variables.LR>0.015')}&charts=filtered"
    log_in(page, portal, ANALYST, path=path)
    expect(_rows(page)).to_have_count(3)
    expect(page.get_by_role("switch", name="Apply filters to charts")).to_be_checked()
    expect(_description(page, "Durations")).to_have_attribute("aria-label", re.compile("of 3 jobs"))
    expect(page.get_by_label("Jobs found")).to_have_text("4")
    page.goto(f"{portal.url}/analytics?user={OTHER}")
    expect(page.get_by_role("alert")).to_contain_text("only an admin may see other users' jobs")
