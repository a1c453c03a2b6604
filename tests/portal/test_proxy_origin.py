"""A hostile service page, opened by a logged-in admin through the portal's endpoint link, gets nothing of
the portal: the page lives on the services' origin, where the portal is not served and from where the
portal's answers cannot be read (CORS) nor framed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from portal.conftest import Portal
from runyard.client.documents import ServiceInstance

#: The service's page: its script tries what a same-origin page could do to the portal, and says what it got.
#: (No dollar sign: ``$NAME`` in a variable is substituted.)
ATTACK = """<!doctype html><title>hostile</title><pre id="out">running</pre><script>
const PORTAL = "PORTAL_URL";
const got = {origin: location.origin, cookies: document.cookie};
async function attempt(name, url, init) {
  try {
    const answer = await fetch(url, init);
    got[name] = {status: answer.status, text: (await answer.text()).slice(0, 300)};
  } catch (error) {
    got[name] = {error: String(error)};
  }
}
function frame(url) {
  return new Promise((done) => {
    const iframe = document.createElement("iframe");
    iframe.onload = () => {
      try {
        done({text: iframe.contentWindow.document.body.innerText.slice(0, 300)});
      } catch (error) {
        done({error: String(error)});
      }
    };
    iframe.src = url;
    document.body.appendChild(iframe);
  });
}
(async () => {
  await attempt("root", "/", {credentials: "include"});
  await attempt("jobs", "/jobs", {credentials: "include"});
  await attempt("api", "/api/v1/jobs", {credentials: "include"});
  await attempt("login", "/login", {credentials: "include"});
  await attempt("portal_jobs", PORTAL + "/jobs", {credentials: "include"});
  await attempt("portal_api", PORTAL + "/api/v1/users", {credentials: "include"});
  await attempt("portal_root", PORTAL + "/", {credentials: "include", mode: "cors"});
  got.framed = await frame(PORTAL + "/jobs");
  document.getElementById("out").textContent = JSON.stringify(got);
})();
</script>"""


@pytest.fixture
def hostile_instance(portal: Portal) -> Iterator[ServiceInstance]:
    """A RUNNING Static_HTTP instance of the admin, proxyfied, serving ``ATTACK``."""
    content = ATTACK.replace("PORTAL_URL", portal.url)
    with portal.client() as client:
        started = client.start_service("Static_HTTP", {"PROXYFIED": "true", "CONTENT": content})
        instance = client.wait_for_service_instance(started["id"], timeout=60)
        try:
            assert instance["status"] == "RUNNING", instance
            yield instance
        finally:
            client.kill_service_instance(instance["id"])
            client.clean_service_instance(instance["id"])


def test_a_hostile_service_page_gets_nothing_of_the_portal(
    admin_page: Page, portal: Portal, hostile_instance: ServiceInstance
) -> None:
    (endpoint_id,) = hostile_instance["endpoints"]
    page = admin_page
    page.goto(f"{portal.url}/services/instances/{hostile_instance['id']}/endpoints/{endpoint_id}")
    expect(page.locator("#out")).not_to_have_text("running", timeout=30_000)
    got: dict[str, Any] = json.loads(page.locator("#out").inner_text())

    # the link opened the page on the services' origin (not the portal's), without the token in the address
    assert got["origin"] == portal.proxy_url != portal.url
    assert urlsplit(page.url).path.startswith("/api/v1/service-instances/") and "token" not in page.url
    assert "runyard" not in got["cookies"]  # HttpOnly, and never forwarded
    # its own origin serves no portal and no API
    for name in ("root", "jobs", "api", "login"):
        assert got[name]["status"] == 404, got
        assert "admin" not in got[name]["text"].lower(), got
    # the portal's origin does not let it read a thing, with the admin's cookie or without
    for name in ("portal_jobs", "portal_api", "portal_root"):
        assert set(got[name]) == {"error"} and "Failed to fetch" in got[name]["error"], got
    assert set(got["framed"]) == {"error"}, got  # a cross-origin frame: its document cannot be read

    # and the admin's portal session is still theirs and working
    page.goto(f"{portal.url}/jobs")
    expect(page.get_by_role("button", name="Account")).to_be_visible()
