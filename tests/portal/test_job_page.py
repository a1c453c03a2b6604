"""The job page: a job followed live (graph, tasks, output, results), its actions, and what it refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Locator, Page, expect

from portal.conftest import Portal, log_in, screenshot

HOSTILE = "<img src=x onerror=alert(1)>"
#: Would change the portal's title if any of it ran in the page (or reached it from the frame).
REPORT_HTML = (
    "<html><body><h1>Report ok</h1><script>parent.document.title='pwned'</script>"
    "<img src=x onerror=\"parent.document.title='pwned'\"></body></html>"
)
WORKFLOW = f"""
name: {json.dumps(HOSTILE)}
variables:
  NOTE: {{value: {json.dumps(HOSTILE + "```")}}}
tasks:
  Prepare:
    script:
      cpython: |-
        import time
        print("preparing the report", flush=True)
        time.sleep(3)
        result = {{"rows": 3}}
  Report:
    depends: [Prepare]
    script:
      cpython: |-
        print("writing the report")
        result = {json.dumps(REPORT_HTML)}
"""
#: A one-pixel PNG.
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
#: Replicas each writing a report as the ML library's tasks do: files in the user space, named in the result.
REPORTS = f"""
name: Reports
tasks:
  Split:
    script: {{cpython: "result = 2"}}
    flow:
      replicate:
        script: {{cpython: "runs = 2"}}
  Draw:
    depends: [Split]
    script:
      cpython: |-
        import base64, pathlib
        n = variables.get("PA_TASK_REPLICATION")
        folder = pathlib.Path(userspace, "job-page")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{{n}}.png").write_bytes(base64.b64decode("{PIXEL}"))
        page = f"<h1>Page {{n}}</h1><script>parent.document.title='pwned'</script>"
        (folder / f"{{n}}.html").write_text(page)
        result = {{"kind": "report", "files": [f"job-page/{{n}}.png", f"job-page/{{n}}.html"]}}
  Merge:
    depends: [Draw]
    script: {{cpython: "result = len(results)"}}
"""
SLEEPER = """
name: Sleeper
tasks:
  Nap:
    script: {cpython: "import time; time.sleep(120)"}
"""
FAILING = """
name: Failing
on_task_error: suspendTask
tasks:
  Broken:
    script: {cpython: "raise RuntimeError('broken on purpose')"}
"""
QUICK = """
name: Quick
tasks:
  Hello:
    script: {cpython: "result = 'hi'"}
"""


@pytest.fixture
def alice(page: Page, portal: Portal) -> Iterator[str]:
    """A user's token, their browser logged in."""
    token = portal.new_user("job-alice")
    log_in(page, portal, "job-alice")
    yield token


def _submit(portal: Portal, token: str, workflow: str) -> int:
    with portal.client(token) as client:
        return client.submit(workflow)


def _refusal(page: Page) -> Locator:
    return page.get_by_role("alert").filter(has_text="cannot be shown")


def _status(page: Page, status: str) -> None:
    expect(page.get_by_label(f"status {status}").first).to_be_visible()


def test_a_job_runs_live_with_its_graph_output_and_sandboxed_result(
    page: Page, portal: Portal, alice: str
) -> None:
    job_id = _submit(portal, alice, WORKFLOW)
    page.goto(f"{portal.url}/jobs/{job_id}")
    expect(page.get_by_label("Job name")).to_have_text(HOSTILE)  # text, not an element
    expect(page.get_by_role("list", name="Task links")).to_contain_text("Prepare → Report (dependency)")
    expect(page.get_by_label("Tasks")).to_contain_text("Report")
    _status(page, "FINISHED")  # without reloading: from the job's events
    expect(page.get_by_label("Tasks").get_by_role("row").filter(has_text="Report")).to_contain_text(
        "FINISHED"
    )

    page.get_by_label("Tasks").get_by_role("cell", name="Prepare", exact=True).click()
    expect(page).to_have_url(f"{portal.url}/jobs/{job_id}?task=Prepare")
    expect(page.get_by_label("Output", exact=True)).to_contain_text("preparing the report")
    expect(page.get_by_label("Output", exact=True)).not_to_contain_text("writing the report")
    screenshot(page, "job-logs")

    page.get_by_label("Tasks").get_by_role("cell", name="Report", exact=True).click()
    page.get_by_role("tab", name="Results").click()
    frame = page.locator("iframe[title='HTML result']")
    expect(frame).to_have_attribute("sandbox", "")
    expect(page.frame_locator("iframe[title='HTML result']").get_by_role("heading")).to_have_text("Report ok")
    page.wait_for_timeout(500)  # the frame's script and image error would have run by now
    assert "pwned" not in page.title()

    page.get_by_role("tab", name="Variables").click()
    expect(page.get_by_label("Variables")).to_contain_text(HOSTILE + "```")
    assert page.locator("img[src='x']").count() == 0


def test_replicas_show_in_the_graph_and_a_report_shows_its_files(
    page: Page, portal: Portal, alice: str
) -> None:
    job_id = _submit(portal, alice, REPORTS)
    with portal.client(alice) as client:
        assert client.wait_for_job(job_id, timeout=60)["status"] == "FINISHED"
    page.goto(f"{portal.url}/jobs/{job_id}?task=" + quote("Draw*1"))
    expect(page.get_by_role("list", name="Task links")).to_contain_text("Split → Draw*1 (replicate)")
    expect(page.get_by_label("Tasks")).to_contain_text("Merge")
    screenshot(page, "job")
    expect(page.get_by_role("combobox", name="Output of")).to_have_value("Draw*1")
    page.get_by_role("tab", name="Results").click()
    expect(page.get_by_role("img", name="job-page/1.png")).to_be_visible()
    frame = page.frame_locator("iframe[title='HTML result']")
    expect(frame.get_by_role("heading")).to_have_text("Page 1")
    assert "pwned" not in page.title()


def test_a_running_job_gets_a_priority_is_paused_resumed_then_killed_after_confirming(
    page: Page, portal: Portal, alice: str
) -> None:
    job_id = _submit(portal, alice, SLEEPER)
    page.goto(f"{portal.url}/jobs/{job_id}")
    _status(page, "RUNNING")
    page.get_by_role("combobox", name="Priority").click()
    page.get_by_role("option", name="low", exact=True).click()
    page.get_by_role("button", name="Change priority").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("combobox", name="Priority")).to_have_value("low")
    with portal.client(alice) as client:
        assert client.get_job(job_id)["priority"] == "low"
    expect(page.get_by_role("button", name="Delete")).to_be_disabled()

    for verb, status in (("Pause", "PAUSED"), ("Resume", "RUNNING")):
        page.get_by_role("button", name=verb).click()
        page.get_by_role("dialog").get_by_role("button", name=verb).click()
        expect(page.get_by_role("dialog")).to_be_hidden()
        _status(page, status)
    page.get_by_role("button", name="Kill").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    _status(page, "RUNNING")
    page.get_by_role("button", name="Kill").click()
    page.get_by_role("dialog").get_by_role("button", name="Kill").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    _status(page, "KILLED")
    expect(page.get_by_role("button", name="Kill")).to_be_disabled()


def test_an_in_error_task_is_restarted(page: Page, portal: Portal, alice: str) -> None:
    job_id = _submit(portal, alice, FAILING)
    page.goto(f"{portal.url}/jobs/{job_id}")
    _status(page, "IN_ERROR")
    expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    page.get_by_role("tab", name="Results").click()
    expect(page.get_by_label("Error of Broken")).to_contain_text("broken on purpose")
    page.get_by_role("button", name="Restart in-error tasks").click()
    page.get_by_role("dialog").get_by_role("button", name="Restart").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    row = page.get_by_label("Tasks").get_by_role("row").filter(has_text="Broken")
    expect(row.get_by_role("cell").last).to_have_text("2")  # executions: it ran again (and failed again)
    with portal.client(alice) as client:
        client.kill_job(job_id)
    _status(page, "KILLED")


def test_a_finished_job_is_deleted_and_the_page_says_it_is_gone(
    page: Page, portal: Portal, alice: str
) -> None:
    job_id = _submit(portal, alice, QUICK)
    with portal.client(alice) as client:
        client.wait_for_job(job_id, timeout=60)
    page.set_viewport_size({"width": 400, "height": 800})  # a narrow window: all of it still reachable
    page.goto(f"{portal.url}/jobs/{job_id}")
    expect(page.get_by_label("Tasks")).to_contain_text("Hello")
    expect(page.get_by_role("img", name="Task graph")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    expect(page.get_by_role("button", name="Kill")).to_be_disabled()
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(_refusal(page)).to_contain_text(f"Job {job_id} cannot be shown: it was deleted")


def test_another_users_job_is_refused_with_a_clear_message(page: Page, portal: Portal) -> None:
    job_id = _submit(portal, portal.new_user("job-owner"), QUICK)
    portal.new_user("job-stranger")
    log_in(page, portal, "job-stranger", path=f"/jobs/{job_id}")
    expect(_refusal(page)).to_contain_text(f"Job {job_id} cannot be shown")
    expect(_refusal(page)).to_contain_text("another user")
    expect(page.get_by_label("Tasks")).to_have_count(0)


def test_a_jobs_external_endpoints_are_links_opened_apart(page: Page, portal: Portal, alice: str) -> None:
    job_id = _submit(portal, alice, QUICK)
    with portal.client(alice) as client:
        client.add_job_endpoint(job_id, HOSTILE, "https://results.example.org/?a=1&b=<2>")
    page.goto(f"{portal.url}/jobs/{job_id}")
    link = page.get_by_label(f"Endpoint {HOSTILE}")
    expect(link).to_have_text(HOSTILE)
    expect(link).to_have_attribute("href", "https://results.example.org/?a=1&b=<2>")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    assert page.locator("img[src='x']").count() == 0
