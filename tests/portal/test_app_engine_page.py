"""The App Engine page on a real server and dockerd: a bundle uploaded through the page (an invalid one
refused with Cytomine's message), a run started from its form reaching FINISHED with its output shown,
the task deleted; a bad value refused with Cytomine's message beside its field (the run kept and started
once corrected); a file input and an array input, the output file downloaded; another user sees neither
the runs nor a run named in the URL, and cannot delete the task.

The portal's server must reach a Docker daemon. Under ``scripts/test`` ``DOCKER_HOST`` is set before
pytest starts, so the package's shared server has it and is used. Otherwise the module starts its own
server inside :func:`support.docker.docker_daemon` (the shared one may already be running without it).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping

import pytest
from PIL import Image
from playwright.sync_api import FilePayload, Page, expect

from appengine.helpers import corpus_bundle, renamed_bundle
from portal.conftest import Portal, connected, log_in, login, screenshot
from runyard.client import ApiError, Client
from support.docker import docker_daemon
from support.server import ADMIN, PASSWORD
from support.server_process import announced_proxy_url, free_port, server_process

#: ``DOCKER_HOST`` as pytest found it (read at collection, before any fixture could set it).
GIVEN_DOCKER_HOST = os.environ.get("DOCKER_HOST")
STRING = "com.cytomine.dummy.identity.string-1.0.0"
CONSTRAINED = "com.cytomine.dummy.constrained.integer.addition-0.1.0"
FILE = "com.cytomine.dummy.identity.file-1.0.0"
COLLECTION = "com.cytomine.dummy.identity.integer.collection-0.1.0"
#: A run goes through a job, a node and a container: far longer than a page's usual wait.
RUN_TIMEOUT = 120_000
#: The module's server, a Docker daemon and runs through jobs and containers: beyond the usual 120 s.
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def engine_portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Portal]:
    """A portal whose server reaches a Docker daemon."""
    if GIVEN_DOCKER_HOST:
        with docker_daemon([]):
            yield request.getfixturevalue("portal")
        return
    with docker_daemon([]):
        data_dir = tmp_path_factory.mktemp("engine-portal")
        command = [sys.executable, "-m", "runyard", "user", "add", ADMIN, "--admin", "--password-stdin"]
        added = subprocess.run(
            [*command, "--data-dir", str(data_dir)], input=PASSWORD + "\n", capture_output=True, text=True
        )
        assert added.returncode == 0, added.stderr
        port = free_port()
        with server_process(data_dir, port, "--nodes", "2") as process:
            url = f"http://127.0.0.1:{port}"
            yield Portal(url, data_dir, login(url, ADMIN), announced_proxy_url(process))


def _upload(portal: Portal, token: str, base: str, extra: Mapping[str, bytes] | None = None) -> str:
    """A corpus bundle under a namespace of its own (with ``extra`` entries) uploaded through the API;
    its namespace."""
    bundle, namespace = renamed_bundle(base, extra=extra)
    path = portal.data_dir / f"{namespace}.zip"
    path.write_bytes(bundle)
    with Client(portal.url, token) as client:
        client.upload_app_task(path)
    return namespace


def test_a_bundle_is_uploaded_run_and_deleted_from_the_page(page: Page, engine_portal: Portal) -> None:
    engine_portal.new_user("ada")
    # past the server's max_body_bytes (16 MiB): the page takes what the API takes
    bundle, namespace = renamed_bundle(STRING, extra={"padding.bin": os.urandom(17 * 1024 * 1024)})
    log_in(page, engine_portal, "ada", path="/app-engine")
    invalid = corpus_bundle("no_version.zip")  # an empty version: refused by the schema, nothing stored
    with Client(engine_portal.url, engine_portal.admin_token) as admin, pytest.raises(ApiError) as refused:
        admin.upload_app_task(invalid)
    page.locator("input[type=file]").set_input_files(invalid)
    expect(page.get_by_label("Upload error")).to_have_text(f"no_version.zip: {refused.value.message}")
    page.locator("input[type=file]").set_input_files(
        files=[FilePayload(name="identity.zip", mimeType="application/zip", buffer=bundle)]
    )
    tasks = page.get_by_label("Tasks", exact=True)
    expect(tasks).to_contain_text(namespace, timeout=60_000)
    expect(tasks).to_contain_text("input: string → output: string")
    expect(page.get_by_label("Task name")).to_have_text("identity with string")  # chosen once uploaded
    expect(page.get_by_label("Parameters")).to_contain_text("Input to forward")

    page.get_by_label("Value of input").fill("hello portal")
    page.get_by_role("button", name="Start run").click()
    run = page.get_by_label("Run", exact=True)
    expect(run.get_by_label("state FINISHED")).to_be_visible(timeout=RUN_TIMEOUT)
    expect(run.get_by_label("Output output")).to_have_text("hello portal")
    expect(run.get_by_label("Input input")).to_have_text("hello portal")
    expect(run.get_by_label(re.compile(r"^Job \d+$"))).to_be_visible()
    expect(page.get_by_label("Runs", exact=True).get_by_label("state FINISHED")).to_have_count(1)
    run_id = page.get_by_label("Run id").inner_text().removeprefix("Run ")
    assert f"run={run_id}" in page.url  # bookmarkable
    expect(run.get_by_label("Run logs")).to_contain_text(run_id)  # the runner's lines about its container

    page.get_by_role("button", name=f"Delete task {namespace} 1.0.0").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(tasks).not_to_contain_text(namespace)
    with Client(engine_portal.url, engine_portal.admin_token) as admin:
        assert namespace not in {task["namespace"] for task in admin.list_app_tasks()}


def test_a_bad_value_is_refused_beside_its_field(page: Page, engine_portal: Portal) -> None:
    namespace = _upload(engine_portal, engine_portal.admin_token, CONSTRAINED)
    token = engine_portal.new_user("bea")
    log_in(page, engine_portal, "bea", path=f"/app-engine?namespace={namespace}&version=0.1.0")
    for name, value in {"a": "-1", "b": "0", "c": "3", "d": "-1"}.items():
        page.get_by_label(f"Value of {name}").fill(value)
    page.get_by_role("button", name="Start run").click()
    expect(page.get_by_label("Error of d")).to_have_text(
        "value must be greater than or equal to define constraint"  # Cytomine's, as provision.feature says
    )
    for name in "abc":
        expect(page.get_by_label(f"Error of {name}")).to_have_text("")
    expect(page.get_by_label("Runs", exact=True)).to_contain_text("No run of yours yet.")
    with Client(engine_portal.url, token) as bea:
        [kept] = bea.list_app_runs(namespace, "0.1.0")
        assert kept["state"] == "CREATED"  # d is missing: not provisioned, not started

    page.get_by_label("Value of d").fill("0")
    page.get_by_role("button", name="Start run").click()
    run = page.get_by_label("Run", exact=True)
    expect(run.get_by_label("state FINISHED")).to_be_visible(timeout=RUN_TIMEOUT)
    expect(run.get_by_label("Output sum")).to_have_text("2")
    expect(page.get_by_label("Error of d")).to_have_text("")
    with Client(engine_portal.url, token) as bea:
        assert [r["id"] for r in bea.list_app_runs(namespace, "0.1.0")] == [kept["id"]]  # the same run


def test_another_user_sees_neither_the_runs_nor_a_run_named_in_the_url(
    page: Page, engine_portal: Portal
) -> None:
    namespace = _upload(engine_portal, engine_portal.admin_token, STRING, {"logo.png": _png()})
    with Client(engine_portal.url, engine_portal.new_user("cleo")) as cleo:
        run = cleo.create_app_run(namespace, "1.0.0")
        cleo.provision_app_run(run["id"], "input", "cleo's")
    with Client(engine_portal.url, engine_portal.new_user("dan")) as dan, pytest.raises(ApiError) as refused:
        dan.delete_app_task(namespace, "1.0.0")  # the admin uploaded it
    log_in(
        page, engine_portal, "dan", path=f"/app-engine?namespace={namespace}&version=1.0.0&run={run['id']}"
    )
    expect(page.get_by_label("Task name")).to_have_text("identity with string")
    expect(page.get_by_alt_text("Task logo")).to_be_visible()
    expect(page.get_by_label("Runs", exact=True)).to_contain_text("No run of yours yet.")
    expect(page.get_by_label("Run", exact=True)).to_contain_text("cannot be shown")
    expect(page.get_by_text("cleo's")).to_have_count(0)
    page.get_by_role("button", name=f"Delete task {namespace} 1.0.0").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".q-notification")).to_contain_text(refused.value.message)
    expect(page.get_by_label("Tasks", exact=True)).to_contain_text(namespace)

    page.context.clear_cookies()  # another person at the same browser
    log_in(page, engine_portal, "cleo", path="/app-engine")
    page.get_by_role("button", name=f"Open task {namespace} 1.0.0").click()
    page.get_by_role("button", name=f"Show run {run['id']}").click()
    expect(page.get_by_label("Run", exact=True).get_by_label("state PROVISIONED")).to_be_visible()
    expect(page.get_by_label("Input input")).to_have_text("cleo's")
    expect(page.get_by_label("Runs", exact=True).get_by_label("state PROVISIONED")).to_have_count(1)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the task and its run stay within it
    expect(page.get_by_label("Run id")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px window"

    page.get_by_role("button", name="Delete run").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_label("Run", exact=True)).to_contain_text("cannot be shown: it was deleted")
    expect(page.get_by_label("Runs", exact=True)).to_contain_text("No run of yours yet.")
    with Client(engine_portal.url, engine_portal.admin_token) as admin:
        assert admin.list_app_runs(namespace, "1.0.0") == []


def test_a_file_and_an_array_are_given_and_read_back(page: Page, engine_portal: Portal) -> None:
    files = _upload(engine_portal, engine_portal.admin_token, FILE)
    arrays = _upload(engine_portal, engine_portal.admin_token, COLLECTION)
    token = engine_portal.new_user("eve")
    log_in(page, engine_portal, "eve", path=f"/app-engine?namespace={files}&version=1.0.0")
    data = bytes(range(256)) * 3
    page.get_by_label("New run").locator("input[type=file]").set_input_files(
        files=[FilePayload(name="data.bin", mimeType="application/octet-stream", buffer=data)]
    )
    expect(page.get_by_label("New run")).to_contain_text("data.bin")
    page.get_by_role("button", name="Start run").click()
    run = page.get_by_label("Run", exact=True)
    expect(run.get_by_label("state FINISHED")).to_be_visible(timeout=RUN_TIMEOUT)
    with page.expect_download() as download:
        run.get_by_role("button", name="Download output output").click()
    assert download.value.path().read_bytes() == data
    with page.expect_download() as download:
        run.get_by_role("button", name="Download input input").click()
    assert download.value.path().read_bytes() == data

    page.goto(f"{engine_portal.url}/app-engine?namespace={arrays}&version=0.1.0")
    connected(page)
    expect(page.get_by_label("Parameters")).to_contain_text("array of integer")
    page.get_by_label("Value of input").fill("[7, 301]")
    page.get_by_role("button", name="Start run").click()
    expect(page.get_by_label("Error of input")).not_to_have_text("")
    page.get_by_label("Value of input").fill("[7, 300, 0]")
    page.get_by_role("button", name="Start run").click()
    expect(run.get_by_label("state FINISHED")).to_be_visible(timeout=RUN_TIMEOUT)
    expect(run.get_by_label("Output output")).to_have_text(re.compile(r"\[0\]\s*7\s*\[1\]\s*300\s*\[2\]\s*0"))
    screenshot(page, "app-engine")
    run_id = page.get_by_label("Run id").inner_text().removeprefix("Run ")
    with Client(engine_portal.url, token) as eve:  # the SDK's item reads the page does not need
        assert eve.app_run_input_file(run_id, "input", "1") == b"300"
        assert eve.app_run_output_item(run_id, "output", "2") == b"0"


def _png() -> bytes:
    """A small logo (a 4 by 4 PNG)."""
    picture = io.BytesIO()
    Image.new("RGB", (4, 4), "teal").save(picture, "PNG")
    return picture.getvalue()
