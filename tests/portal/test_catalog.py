"""The Catalog pages: buckets, objects, revisions; upload, restore, diff, raw view; bucket rights."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import FilePayload, Page, expect

from portal.conftest import Portal, log_in, screenshot
from runyard.client import ApiError, Client

HOSTILE = "<img src=x onerror=alert(1)>"
FIRST = """<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="greet">
  <taskFlow>
    <task name="hello"><scriptExecutable><script><code language="python">print("hello")</code></script>
    </scriptExecutable></task>
  </taskFlow>
</job>
"""
SECOND = FIRST.replace('print("hello")', 'print("bonjour")')


@dataclass
class Owner:
    """A user of the portal with a bucket of their own holding one workflow (revision 1: ``FIRST``)."""

    name: str
    client: Client
    bucket: str
    workflow: str = "greet"


@pytest.fixture
def owner(portal: Portal) -> Iterator[Owner]:
    name = "cathy"
    with portal.client(portal.new_user(name)) as client:
        bucket = f"b-{uuid.uuid4().hex[:8]}"
        client.create_bucket(bucket)
        client.push_object(bucket, "greet", FIRST, kind="Workflow/standard", commit_message="first")
        yield Owner(name, client, bucket)
        client.delete_bucket(bucket, force=True)


def _object_url(owner: Owner, query: str = "") -> str:
    return f"/catalog/{owner.bucket}/{owner.workflow}{query}"


def test_an_uploaded_revision_is_committed_then_the_previous_one_restored(
    page: Page, portal: Portal, owner: Owner
) -> None:
    log_in(page, portal, owner.name, path=_object_url(owner))
    page.get_by_role("button", name="Upload revision").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[type=file]").set_input_files(
        files=[FilePayload(name="greet.xml", mimeType="application/xml", buffer=SECOND.encode())]
    )
    expect(dialog.get_by_label("Chosen file")).to_contain_text("greet.xml")
    dialog.get_by_label("Commit message").fill("say it in French")
    dialog.get_by_role("button", name="Commit").click()
    expect(page).to_have_url(re.compile(r"\?revision=2$"))
    revisions = page.get_by_label("Revisions", exact=True)
    expect(revisions).to_contain_text("say it in French")
    expect(revisions).to_contain_text(owner.name)
    expect(page.get_by_label("Content", exact=True)).to_contain_text("bonjour")

    page.get_by_role("button", name="Restore revision 1").click()
    expect(page).to_have_url(re.compile(r"\?revision=3$"))
    expect(revisions).to_contain_text("restored revision 1")
    expect(page.get_by_label("Content", exact=True)).to_contain_text('print("hello")')
    assert owner.client.pull_object(owner.bucket, owner.workflow).decode() == FIRST


def test_two_revisions_compare_side_by_side_also_narrow_and_the_raw_view_is_highlighted(
    page: Page, portal: Portal, owner: Owner
) -> None:
    owner.client.push_object(owner.bucket, owner.workflow, SECOND, commit_message="in French")
    log_in(page, portal, owner.name, path=_object_url(owner, "?revision=2"))
    content = page.get_by_label("Content", exact=True)
    expect(content).to_contain_text("bonjour")
    expect(content.locator(".cm-content span").first).to_be_visible()  # tokens of the XML highlighter
    screenshot(page, "catalog")

    page.get_by_role("link", name="Compare with revision 1").click()
    expect(page).to_have_url(re.compile(r"\?revision=2&compare=1$"))
    changed = page.get_by_label("Differences", exact=True).get_by_role("row").filter(has_text="bonjour")
    expect(changed).to_have_count(1)
    expect(changed).to_contain_text('print("hello")')  # the old line on the same row, on the left
    cells = changed.get_by_role("cell")
    expect(cells.nth(1)).to_contain_text("hello")
    expect(cells.nth(3)).to_contain_text("bonjour")
    screenshot(page, "catalog-diff")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the page keeps within its width
    expect(page.get_by_label("Differences", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_bucket_is_created_refusing_a_bad_name_beside_the_field_and_deleted_after_confirmation(
    page: Page, portal: Portal, owner: Owner
) -> None:
    log_in(page, portal, owner.name, path="/catalog")
    page.get_by_role("button", name="New bucket").click()
    page.get_by_label("Bucket name").fill("bad name!")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("dialog")).to_contain_text("invalid bucket name")
    name = f"made-{uuid.uuid4().hex[:8]}"
    page.get_by_label("Bucket name").fill(name)
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(f"{portal.url}/catalog/{name}")
    assert owner.client.get_bucket(name)["owner"] == owner.name

    page.get_by_role("button", name="Upload object").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[type=file]").set_input_files(
        files=[FilePayload(name="greet.xml", mimeType="application/xml", buffer=FIRST.encode())]
    )
    expect(dialog.get_by_label("Object name")).to_have_value("greet.xml")
    dialog.get_by_label("Object name").fill("greet")
    dialog.get_by_label("Commit message").fill("a first greeting")
    dialog.get_by_role("button", name="Commit").click()
    expect(page).to_have_url(f"{portal.url}/catalog/{name}/greet")
    assert owner.client.get_object(name, "greet")["kind"] == "Workflow/standard"
    page.get_by_role("link", name=name).click()

    page.get_by_role("button", name="Delete bucket").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    assert owner.client.get_bucket(name)
    page.get_by_role("button", name="Delete bucket").click()
    expect(page.get_by_role("dialog")).to_contain_text("It holds 1 object(s)")
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page).to_have_url(f"{portal.url}/catalog")
    with pytest.raises(ApiError):
        owner.client.get_bucket(name)


def test_another_users_private_bucket_is_not_listed_nor_shown(
    page: Page, portal: Portal, owner: Owner
) -> None:
    portal.new_user("mallory")
    log_in(page, portal, "mallory", path=f"/catalog?name={owner.bucket}")
    expect(page.get_by_label("Buckets", exact=True)).to_contain_text("No bucket matches.")
    page.goto(portal.url + _object_url(owner))
    expect(page.get_by_role("alert")).to_contain_text(f"no bucket '{owner.bucket}'")
    expect(page.get_by_label("Content", exact=True)).to_have_count(0)


def test_a_built_in_bucket_says_it_is_read_only(page: Page, portal: Portal) -> None:
    portal.new_user("cathy")
    log_in(page, portal, "cathy", path="/catalog/basic-examples")
    expect(page.get_by_role("note")).to_contain_text("built-in bucket")
    expect(page.get_by_label("Objects", exact=True)).to_contain_text("Replicate")
    expect(page.get_by_role("button", name="Upload object")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete bucket")).to_have_count(0)


def test_hostile_commit_messages_projects_and_content_render_as_text(
    page: Page, portal: Portal, owner: Owner
) -> None:
    content = f"```\n{HOSTILE}\n```\n"
    owner.client.push_object(
        owner.bucket, "notes.md", content, kind="Document", commit_message=HOSTILE, project_name=HOSTILE
    )
    alerts: list[str] = []
    page.on("dialog", lambda dialog: alerts.append(dialog.message))
    log_in(page, portal, owner.name, path=f"/catalog/{owner.bucket}")
    expect(page.get_by_label("Objects", exact=True)).to_contain_text(HOSTILE)
    page.get_by_role("link", name="notes.md").click()
    expect(page.get_by_label("Revisions", exact=True)).to_contain_text(HOSTILE)
    expect(page.get_by_label("Content", exact=True)).to_contain_text(HOSTILE)
    expect(page.locator("img[src=x]")).to_have_count(0)
    assert alerts == []
