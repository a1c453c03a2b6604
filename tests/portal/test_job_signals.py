"""The job page's signals: what a task waits for appears live, with the form of its variables; a value
out of its model is refused beside its field; Send delivers it and the task goes on with it; once the job
has ended nothing is offered to send."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from portal.conftest import Portal, log_in, screenshot

HOSTILE = "<b>bold</b>"
WAITER = f"""
name: Awaiting approval
tasks:
  Approve:
    script:
      cpython: |-
        import time
        time.sleep(2)  # the page is open before the task is ready
        signalapi.readyForSignal("Approve", [
            {{"name": "CODE", "value": "go", "model": "PA:REGEXP([a-z]+)", "description": "{HOSTILE}"}},
        ])
        signal = signalapi.waitFor("Approve", 120000)
        result = signal.getUpdatedVariables()["CODE"]
"""


def test_a_signal_is_sent_from_the_job_page(page: Page, portal: Portal) -> None:
    token = portal.new_user("signal-alice")
    log_in(page, portal, "signal-alice")
    with portal.client(token) as client:
        job_id = client.submit(WAITER)
    page.goto(f"{portal.url}/jobs/{job_id}")
    page.get_by_role("tab", name="Signals").click()
    card = page.get_by_label("Signal Approve")
    expect(card).to_be_visible()  # from the job's events, without reloading
    expect(card).to_contain_text("waited for by Approve")
    expect(page.locator("b", has_text="bold")).to_have_count(0)  # the description stays text
    code = page.get_by_label("CODE", exact=True)
    code.fill("NOT LOWER")
    page.get_by_role("button", name="Send Approve").click()
    field = page.locator(".q-field").filter(has=code)
    expect(field).to_contain_text("does not match the regular expression")
    screenshot(page, "job-signals")
    code.fill("approved")
    page.get_by_role("button", name="Send Approve").click()
    expect(page.get_by_text("Approve: sent by signal-alice")).to_be_visible()
    with portal.client(token) as client:
        job = client.wait_for_job(job_id, timeout=60)
    assert job["status"] == "FINISHED" and job["tasks"][0]["result"] == "approved"


ENDED = """
name: Gave up waiting
tasks:
  Ready:
    script:
      cpython: signalapi.readyForSignal("Too_Late")
"""


def test_an_ended_job_offers_nothing_to_send(page: Page, portal: Portal) -> None:
    token = portal.new_user("signal-bob")
    log_in(page, portal, "signal-bob")
    with portal.client(token) as client:
        job_id = client.submit(ENDED)
        assert client.wait_for_job(job_id, timeout=60)["status"] == "FINISHED"
    page.goto(f"{portal.url}/jobs/{job_id}")
    page.get_by_role("tab", name="Signals").click()
    expect(page.get_by_label("Signal Too_Late")).to_be_visible()
    expect(page.get_by_text("The job has ended")).to_be_visible()
    expect(page.get_by_role("button", name="Send Too_Late")).to_have_count(0)
