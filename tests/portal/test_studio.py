"""The Studio: open a workflow, see its graph, edit it in forms or as text, checked live; save, submit."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from portal.conftest import Portal, log_in, screenshot

USER = "stella"
BUCKET = "stella-flows"
PIPELINE = """name: Pipeline
variables:
  ROWS: 10
tasks:
  A:
    script:
      cpython: result = 1
  B:
    depends: [A]
    script:
      bash: echo b
"""
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def stella(portal: Portal) -> str:
    token = portal.new_user(USER)
    with portal.client(token) as client:
        client.create_bucket(BUCKET)
        client.push_object(BUCKET, "Pipeline", PIPELINE, kind="Workflow/standard", commit_message="first")
    return token


def _text(page: Page) -> Locator:
    return page.get_by_label("Workflow text").locator(".cm-content")


def _type_text(page: Page, text: str) -> None:
    """Replace the whole workflow text, as a person pasting would."""
    _text(page).click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def _toggle_dependency(page: Page, task: str) -> None:
    page.get_by_role("combobox", name="Depends on").click()
    page.get_by_role("option", name=task, exact=True).click()
    page.keyboard.press("Escape")
    expect(page.get_by_role("option")).to_have_count(0)


def _select_task(page: Page, task: str) -> None:
    page.get_by_role("combobox", name="Task", exact=True).click()
    page.get_by_role("option", name=task, exact=True).click()
    expect(page.get_by_label("Task name")).to_have_value(task)


def test_a_cycle_is_reported_fixed_then_saved_and_submitted(page: Page, portal: Portal, stella: str) -> None:
    log_in(page, portal, USER, path=f"/studio?bucket={BUCKET}&name=Pipeline")
    verdict = page.get_by_role("status")
    expect(verdict).to_have_text("Valid")
    expect(page.get_by_label("Task name")).to_have_value("A")
    screenshot(page, "studio")
    _toggle_dependency(page, "B")  # A after B, B after A
    expect(verdict).to_have_text("1 problem")
    alert = page.get_by_role("alert").filter(has_text="cycle")
    expect(alert).to_contain_text("line ")
    expect(page.get_by_role("button", name="Save to the catalog")).to_be_disabled()
    expect(_text(page)).to_contain_text("depends:")
    _select_task(page, "B")
    _toggle_dependency(page, "A")  # fixed the other way round: B first, then A
    expect(verdict).to_have_text("Valid")

    page.get_by_role("button", name="Save to the catalog").click()
    page.wait_for_timeout(1500)
    page.screenshot(path="/tmp/shotsG/save.png")
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox", name="Bucket").click()
    page.get_by_role("option", name=BUCKET, exact=True).click()
    dialog.get_by_label("Commit message").fill("A after B")
    dialog.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(f"{portal.url}/studio?bucket={BUCKET}&name=Pipeline&revision=2")
    with portal.client(stella) as client:
        latest = client.get_object(BUCKET, "Pipeline")
        assert (latest["revision"], latest["commit_message"]) == (2, "A after B")
        saved = client.validate_workflow(client.pull_object(BUCKET, "Pipeline").decode())["workflow"]
    assert saved is not None
    assert saved["tasks"]["A"]["depends"] == ["B"] and "depends" not in saved["tasks"]["B"]

    expect(verdict).to_have_text("Valid")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"{portal.url}/jobs/*")
    job_id = int(page.url.rsplit("/", 1)[1])
    with portal.client(stella) as client:
        assert client.get_job(job_id)["name"] == "Pipeline"


def test_the_text_drives_the_forms_and_a_syntax_error_saves_nothing(
    page: Page, portal: Portal, stella: str
) -> None:
    log_in(page, portal, USER, path="/studio")
    verdict = page.get_by_role("status")
    expect(verdict).to_have_text("Valid")
    _type_text(
        page, PIPELINE.replace("Pipeline", "Edited").replace("  A:", "  First:").replace("[A]", "[First]")
    )
    expect(page.get_by_label("Task name")).to_have_value("First")
    page.get_by_role("tab", name="Workflow").click()
    expect(page.get_by_label("Workflow name")).to_have_value("Edited")
    expect(page.get_by_label("variable name")).to_have_value("ROWS")

    page.get_by_label("variable value").fill("25")  # a form edits the text
    expect(_text(page)).to_contain_text("ROWS: '25'")

    _type_text(page, "name: Broken\ntasks:\n  A: [\n")
    expect(verdict).to_have_text("1 problem")
    expect(page.get_by_role("alert").first).to_contain_text("line ")
    page.get_by_role("button", name="Save to the catalog").click(force=True)
    expect(page.get_by_role("dialog")).to_have_count(0)
    with portal.client(stella) as client:
        assert "Broken" not in [o["name"] for o in client.list_objects(BUCKET)["objects"]]


def test_a_task_is_added_from_the_palette(page: Page, portal: Portal, stella: str) -> None:
    log_in(page, portal, USER, path="/studio")
    expect(page.get_by_role("status")).to_have_text("Valid")
    page.get_by_role("tab", name="Task templates").click()
    page.get_by_label("Search task templates").fill("iris")
    page.get_by_role("button", name="Add machine-learning/Load_Iris_Dataset").click()
    page.get_by_role("tab", name="Task", exact=True).click()
    expect(page.get_by_label("Task name")).to_have_value("Load_Iris_Dataset")
    expect(_text(page)).to_contain_text("from: machine-learning/Load_Iris_Dataset")
    expect(page.get_by_role("status")).to_have_text("Valid")
    page.set_viewport_size({"width": 390, "height": 844})  # a narrow window: one column
    page.get_by_label("Workflow text").scroll_into_view_if_needed()
    expect(page.get_by_label("Workflow text")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_hostile_names_are_text_and_others_objects_are_refused(
    page: Page, portal: Portal, stella: str
) -> None:
    alerts: list[str] = []
    page.on("dialog", lambda dialog: alerts.append(dialog.message))
    portal.new_user("mallory")
    log_in(page, portal, "mallory", path=f"/studio?bucket={BUCKET}&name=Pipeline")
    expect(page.get_by_text(f"bucket {BUCKET!r}", exact=False).first).to_be_visible()
    expect(_text(page)).to_contain_text("My_Workflow")  # not stella's
    _type_text(page, PIPELINE.replace("  B:", f"  '{HOSTILE}':"))
    links = page.get_by_role("list", name="Task links")  # the graph's text twin
    expect(links).to_contain_text(f"A → {HOSTILE} (dependency)")
    _select_task(page, HOSTILE)
    expect(page.locator("img[src=x]")).to_have_count(0)
    assert alerts == []


def test_a_file_and_a_jobs_workflow_open_and_the_format_converts(
    page: Page, portal: Portal, stella: str, tmp_path: Path
) -> None:
    log_in(page, portal, USER, path="/studio")
    expect(page.get_by_role("status")).to_have_text("Valid")
    flow = tmp_path / "uploaded.yaml"
    flow.write_text(PIPELINE.replace("Pipeline", "Uploaded"))
    page.get_by_role("button", name="Open a file").click()
    page.get_by_role("dialog").locator("input[type=file]").set_input_files(flow)
    expect(_text(page)).to_contain_text("name: Uploaded")
    expect(page.get_by_text("Editing the file uploaded.yaml")).to_be_visible()
    page.get_by_role("button", name="XML", exact=True).click()  # the text converts, the forms stay
    expect(_text(page)).to_contain_text('<job xmlns="urn:proactive:jobdescriptor')
    expect(page.get_by_role("status")).to_have_text("Valid")
    expect(page.get_by_label("Task name")).to_have_value("A")

    with portal.client(stella) as client:
        job_id = client.submit(PIPELINE.replace("Pipeline", "From_A_Job"))
    page.get_by_role("button", name="From a job").click()
    page.get_by_label("Job id").fill(str(job_id))
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page).to_have_url(f"{portal.url}/studio?job={job_id}")
    expect(_text(page)).to_contain_text("name: From_A_Job")


def test_control_flow_is_edited_in_the_form_and_drawn(page: Page, portal: Portal, stella: str) -> None:
    log_in(page, portal, USER, path="/studio")
    expect(page.get_by_role("status")).to_have_text("Valid")
    page.get_by_role("button", name="Add a task").click()  # after the selected one, Start
    expect(page.get_by_label("Task name")).to_have_value("Task")
    page.get_by_role("button", name="Control flow").click()
    page.get_by_role("combobox", name="Flow action").click()
    page.get_by_role("option", name="loop", exact=True).click()
    page.get_by_role("combobox", name="Flow target").click()
    page.get_by_role("option", name="Start", exact=True).click()
    expect(_text(page)).to_contain_text("target: Start")
    links = page.get_by_role("list", name="Task links")
    expect(links).to_contain_text("Task → Start (loop)")
    expect(links).to_contain_text("Start → Task (dependency)")
    script = page.get_by_label("Flow script", exact=True).locator(".cm-content")
    script.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text("loop = variables.get('PA_TASK_ITERATION') < 2")
    expect(_text(page)).to_contain_text("PA_TASK_ITERATION")
