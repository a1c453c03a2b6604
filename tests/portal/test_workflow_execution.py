"""Workflow Execution: a catalog workflow or a file, its variables form (a widget per model), the API's
problems beside the fields with nothing submitted, then the job's page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Locator, Page, expect

from portal.conftest import Portal, log_in, screenshot
from runyard.web.variables_form import date_mask

USER = "wilma"
BUCKET = "wilma-flows"
HOSTILE = "<img src=x onerror=alert(1)>"
#: One variable per kind of widget; a hostile description; a hidden one and an advanced one.
KINDS = f"""
name: Kinds
description: "Every widget {HOSTILE}"
variables:
  FLAG: {{value: "true", model: "PA:Boolean", description: "{HOSTILE}"}}
  COLOUR: {{value: green, model: "PA:List(red,green,blue)"}}
  COUNT: {{value: "3", model: "PA:Integer[1,10]", description: How many, group: Sizes}}
  RATIO: {{value: "0.5", model: "PA:Float", advanced: true, group: Sizes}}
  SECRET: {{value: s3cret, model: "PA:Hidden", group: "{HOSTILE}"}}
  TOKEN: {{value: "", model: "PA:Credential?"}}
  WHEN: {{value: "2026-01-31", model: "PA:DateTime(yyyy-MM-dd)"}}
  REFERENCE: {{value: "basic-examples/hello", model: "PA:Catalog_Object"}}
  EMAIL: {{value: "a@b.org", model: "PA:Regexp([a-z]+@[a-z]+[.][a-z]+)"}}
  INTERNAL: {{value: kept, hidden: true}}
tasks:
  - name: Echo
    script: {{language: cpython, code: "result = variables['EMAIL']"}}
"""

UPLOADED = """
name: Uploaded
variables:
  WHO: {value: world, model: "PA:NOT_EMPTY_STRING"}
tasks:
  - name: Greet
    script: {language: cpython, code: "result = 'hi ' + variables['WHO']"}
"""


@pytest.fixture(scope="module")
def kinds(portal: Portal) -> Iterator[str]:
    """``wilma``'s private bucket holding the workflow ``Kinds``; yields its ``BUCKET/NAME``."""
    with portal.client(portal.new_user(USER)) as client:
        if BUCKET not in {b["name"] for b in client.list_buckets()}:
            client.create_bucket(BUCKET)
        client.push_object(BUCKET, "Kinds", KINDS, kind="workflow/standard")
        client.put_credential("db_password", "hunter2")
        yield f"{BUCKET}/Kinds"


def _jobs(portal: Portal) -> int:
    with portal.client(portal.new_user(USER)) as client:
        total: int = client.list_jobs(limit=1)["total"]
        return total


def _field(page: Page, name: str) -> Locator:
    """The whole field of variable ``name`` (where its help and its error are)."""
    return page.locator(".q-field").filter(has=page.get_by_label(name, exact=True))


def test_a_bad_value_is_shown_beside_its_field_and_nothing_is_submitted(
    page: Page, portal: Portal, kinds: str
) -> None:
    log_in(page, portal, USER, path=f"/workflows?open={kinds}")
    expect(page.get_by_text("Every widget")).to_be_visible()
    screenshot(page, "workflow-execution")
    before = _jobs(portal)
    page.get_by_label("EMAIL", exact=True).fill("not an address")
    page.get_by_label("COUNT", exact=True).fill("")
    page.get_by_role("button", name="Submit").click()
    expect(_field(page, "EMAIL")).to_contain_text("does not match the regular expression")
    expect(_field(page, "COUNT")).to_contain_text("is not an integer")
    assert _jobs(portal) == before
    page.get_by_label("EMAIL", exact=True).fill("wilma@flint.stone")
    page.get_by_label("COUNT", exact=True).fill("7")
    page.get_by_role("button", name="Check values").click()
    expect(page.get_by_text("The values are valid.")).to_be_visible()
    expect(_field(page, "EMAIL")).not_to_contain_text("does not match")
    page.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[1])
    with portal.client(portal.new_user(USER)) as client:
        job = client.get_job(job_id)
    assert job["variables"]["EMAIL"] == "wilma@flint.stone"
    assert job["variables"]["COUNT"] == "7" and job["variables"]["FLAG"] == "true"
    assert job["variables"]["INTERNAL"] == "kept"


def test_each_model_gets_its_widget_and_user_text_stays_text(page: Page, portal: Portal, kinds: str) -> None:
    alerts: list[str] = []

    def alerted(dialog: Dialog) -> None:
        alerts.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", alerted)
    log_in(page, portal, USER, path=f"/workflows?open={kinds}")
    expect(page.get_by_role("switch", name="FLAG")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_role("combobox", name="COLOUR")).to_be_visible()
    count = page.get_by_label("COUNT", exact=True)
    expect(count).to_have_attribute("type", "number")
    expect(count).to_have_attribute("min", "1")
    expect(count).to_have_attribute("max", "10")
    expect(page.get_by_label("SECRET", exact=True)).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="Pick a date for WHEN")).to_be_visible()
    expect(page.get_by_role("combobox", name="TOKEN")).to_be_visible()
    expect(page.get_by_role("combobox", name="REFERENCE")).to_be_visible()
    expect(page.get_by_role("heading", name="Sizes")).to_be_visible()
    expect(_field(page, "COUNT")).to_contain_text("How many")
    expect(page.get_by_label("INTERNAL", exact=True)).to_have_count(0)
    expect(page.get_by_label("RATIO", exact=True)).to_be_hidden()
    page.get_by_role("switch", name="Show advanced variables").click()
    expect(page.get_by_label("RATIO", exact=True)).to_be_visible()
    expect(page.get_by_text(HOSTILE).first).to_be_visible()
    expect(page.get_by_role("heading", name=HOSTILE)).to_be_visible()
    expect(page.locator("img[src=x]")).to_have_count(0)
    page.get_by_role("combobox", name="TOKEN").click()  # the person's own credentials
    expect(page.get_by_role("option", name="db_password")).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("combobox", name="REFERENCE").fill("Kind")  # the catalog's objects, filtered
    expect(page.get_by_role("option", name=f"{BUCKET}/Kinds")).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Pick a date for WHEN").click()
    page.get_by_role("button", name="15", exact=True).click()
    expect(page.get_by_label("WHEN", exact=True)).to_have_value("2026-01-15")
    assert not alerts
    page.set_viewport_size({"width": 420, "height": 800})  # a narrow window: nothing wider than it
    submit = page.get_by_role("button", name="Submit")
    submit.scroll_into_view_if_needed()
    expect(submit).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_uploaded_file_is_submitted_with_its_variables(page: Page, portal: Portal, tmp_path: Path) -> None:
    portal.new_user(USER)
    log_in(page, portal, USER, path="/workflows")
    flow = tmp_path / "greet.yaml"
    flow.write_text(UPLOADED)
    page.locator("input[type=file]").set_input_files(flow)
    who = page.get_by_label("WHO", exact=True)
    expect(who).to_have_value("world")
    who.fill("")
    page.get_by_role("button", name="Submit").click()
    expect(_field(page, "WHO")).to_contain_text("is empty")
    who.fill("Fred")
    page.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    with portal.client(portal.new_user(USER)) as client:
        job = client.get_job(int(page.url.rsplit("/", 1)[1]))
    assert job["name"] == "Uploaded" and job["variables"]["WHO"] == "Fred"


def test_service_workflows_only_and_the_search_filter_the_catalog(
    page: Page, portal: Portal, kinds: str
) -> None:
    log_in(page, portal, USER, path="/workflows")
    workflows = page.get_by_label("Workflows", exact=True)
    page.get_by_label("Search workflows").fill("Kind")
    expect(workflows.get_by_role("button", name=f"Open {kinds}")).to_be_visible()
    expect(workflows).not_to_contain_text("service-automation")
    page.get_by_role("switch", name="Service Workflows Only").click()
    expect(workflows.get_by_role("button", name=f"Open {kinds}")).to_have_count(0)
    page.get_by_label("Search workflows").fill("")
    expect(workflows).to_contain_text("service-automation")
    expect(page).to_have_url(re.compile(r"service=true"))
    page.get_by_role("switch", name="Service Workflows Only").click()
    page.get_by_label("Search workflows").fill("Kinds")
    workflows.get_by_role("button", name=f"Open {kinds}").click()
    expect(page).to_have_url(re.compile(r"open=wilma-flows%2FKinds"))
    expect(page.get_by_label("EMAIL", exact=True)).to_be_visible()
    page.goto(f"{portal.url}/workflows?bucket={BUCKET}")  # bookmarkable: one bucket
    expect(page.get_by_role("combobox", name="Bucket")).to_have_value(BUCKET)
    expect(workflows.get_by_role("button", name=f"Open {kinds}")).to_be_visible()
    expect(workflows).not_to_contain_text("basic-examples")


def test_another_users_private_workflow_is_neither_listed_nor_opened(
    page: Page, portal: Portal, kinds: str
) -> None:
    portal.new_user("barney")
    log_in(page, portal, "barney", path=f"/workflows?open={kinds}")
    expect(page.get_by_role("alert").filter(has_text=f"no bucket '{BUCKET}'")).to_be_visible()
    expect(page.get_by_label("EMAIL", exact=True)).to_have_count(0)
    expect(page.get_by_label("Workflows", exact=True)).not_to_contain_text(BUCKET)


@pytest.mark.parametrize(
    ("java", "mask"),
    [
        ("yyyy-MM-dd", "YYYY-MM-DD"),
        ("dd/MM/yy HH:mm:ss", "DD/MM/YY HH:mm:ss"),
        ("yyyy-MM-dd'T'HH:mm", "YYYY-MM-DD[T]HH:mm"),
        ("hh:mm a", "hh:mm A"),
        ("EEE, d MMM yyyy", None),  # day names: the field is text only
    ],
)
def test_date_pickers_write_the_models_format(java: str, mask: str | None) -> None:
    assert date_mask(java) == mask
