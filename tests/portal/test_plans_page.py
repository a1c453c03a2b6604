"""The Job Planner page: a plan made with the workflow picker and its variables form (a bad value shown
beside its field), its next times previewed, paused, its runs read, deleted; a hostile name stays text."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from portal.conftest import Portal, log_in, screenshot

WORKFLOW = b"""name: Planned
variables:
  COUNT:
    value: "1"
    model: PA:Integer[1,10]
  WHO:
    value: world
    model: PA:NOT_EMPTY_STRING
tasks:
  Count:
    script:
      bash: echo "$variables_COUNT"
"""
HOSTILE = "<img src=x onerror=alert(1)>"


def test_a_plan_is_made_paused_read_and_deleted(page: Page, portal: Portal) -> None:
    token = portal.new_user("piper")
    with portal.client(token) as piper:
        if "piper-plans" not in {b["name"] for b in piper.list_buckets()}:
            piper.create_bucket("piper-plans")
            piper.push_object("piper-plans", "Planned", WORKFLOW, kind="Workflow/standard")
    log_in(page, portal, "piper", path="/plans")
    page.get_by_text("New plan").click()
    page.get_by_role("combobox", name="Workflow").fill("piper-plans")  # the picker filters as one types
    page.get_by_role("option", name="piper-plans/Planned", exact=True).click()
    count = page.get_by_label("COUNT", exact=True)
    expect(count).to_be_visible()
    page.get_by_label("Plan name").fill(HOSTILE)
    page.get_by_label("Cron expression").fill("0 9 * * 1-5")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_role("button", name="Preview times").click()
    expect(page.get_by_label("Next times")).to_contain_text("Next times:")
    who = page.get_by_label("WHO", exact=True)
    who.fill("")  # (a number field clamps what is typed into its range: a text field shows the refusal)
    page.get_by_role("button", name="Create plan").click()
    expect(page.get_by_text("is empty")).to_be_visible()  # the refusal, beside the field
    who.fill("Fred")
    count.fill("3")
    page.get_by_role("button", name="Create plan").click()
    table = page.get_by_label("Plans", exact=True)
    expect(table).to_contain_text("piper-plans/Planned")
    expect(table).to_contain_text("cron 0 9 * * 1-5 (Europe/Paris)")
    expect(page.locator("img[src=x]")).to_have_count(0)
    expect(page.get_by_label("Plan name")).to_be_hidden()  # the form folded, empty again
    screenshot(page, "plans")
    with portal.client(token) as piper:
        (plan,) = piper.list_plans()["plans"]
        assert (plan["name"], plan["variables"]) == (HOSTILE, {"COUNT": "3", "WHO": "Fred"})

    page.get_by_role("button", name=f"Pause {HOSTILE}").click()
    expect(page.get_by_role("button", name=f"Resume {HOSTILE}")).to_be_visible()
    with portal.client(token) as piper:
        assert piper.get_plan(plan["id"])["paused"]
    page.get_by_role("button", name=f"Runs of {HOSTILE}").click()
    expect(page.get_by_role("dialog")).to_contain_text("No run yet.")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()
    page.get_by_role("button", name=f"Delete {HOSTILE}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(table).to_contain_text("No plan yet.")
    with portal.client(token) as piper:
        assert piper.list_plans()["plans"] == []
