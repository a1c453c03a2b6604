"""The catalog over HTTP, against a live server on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from support.server import LiveServer

_buckets = itertools.count(1)
SCRIPT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="UsesCatalogScript">
  <taskFlow>
    <task name="Run">
      <scriptExecutable><script>
        <file url="${PA_CATALOG_REST_URL}/buckets/BUCKET/resources/compute.py/raw" language="cpython"/>
      </script></scriptExecutable>
    </task>
  </taskFlow>
</job>
"""
WORKFLOW_XML = """<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="Answer" projectName="Demo">
  <variables>
    <variable name="N" value="21" model="PA:Integer[1,100]" group="Input" description="Half the answer"/>
  </variables>
  <genericInformation><info name="Documentation" value="https://example.org/doc"/></genericInformation>
  <taskFlow>
    <task name="Double">
      <scriptExecutable><script><code language="cpython">result = int(variables.get("N")) * 2</code></script>
      </scriptExecutable>
    </task>
  </taskFlow>
</job>
"""


@dataclass
class Caller:
    name: str
    http: httpx.Client


@pytest.fixture
def alice(server: LiveServer) -> Iterator[Caller]:
    name, token = server.new_user()
    with server.client(token) as client:
        yield Caller(name, client)


@pytest.fixture
def bob(server: LiveServer) -> Iterator[Caller]:
    name, token = server.new_user()
    with server.client(token) as client:
        yield Caller(name, client)


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(server.admin_token) as client:
        yield client


def new_bucket(caller: Caller, *, public: bool = False) -> str:
    name = f"{caller.name}-bucket-{next(_buckets)}"
    answer = caller.http.post("/catalog/buckets", json={"name": name, "public": public})
    assert answer.status_code == 201, answer.text
    return name


def put(
    caller: Caller, bucket: str, name: str, content: str | bytes, content_type: str, **query: str
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    return caller.http.put(
        f"/catalog/buckets/{bucket}/resources/{name}", content=content, headers=headers, params=query
    )


def assert_error(answer: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == error and body["message"]
    return body


def test_bucket_life_cycle(alice: Caller) -> None:
    bucket = new_bucket(alice, public=True)
    found = alice.http.get(f"/catalog/buckets/{bucket}").json()
    assert found == {
        "name": bucket,
        "owner": alice.name,
        "public": True,
        "created_at": found["created_at"],
        "object_count": 0,
    }
    assert bucket in [
        b["name"] for b in alice.http.get("/catalog/buckets", params={"owner": alice.name}).json()
    ]
    assert [
        b["name"] for b in alice.http.get("/catalog/buckets", params={"name": f"{alice.name}-*"}).json()
    ] == [bucket]
    assert alice.http.delete(f"/catalog/buckets/{bucket}").status_code == 204
    assert_error(alice.http.get(f"/catalog/buckets/{bucket}"), 404, "not_found")


def test_bad_bucket_requests(alice: Caller, bob: Caller) -> None:
    bucket = new_bucket(alice)
    posts: list[tuple[Any, int, str]] = [
        ({"name": "has space"}, 400, "invalid_request"),
        ({"name": "x" * 300}, 400, "invalid_request"),
        ({"public": True}, 400, "invalid_request"),
        ({"name": "ok-name", "public": "perhaps"}, 400, "invalid_request"),
        ({"name": "ok-name", "owner": bob.name}, 403, "forbidden"),
        ({"name": bucket}, 409, "conflict"),
        ([1, 2], 400, "invalid_request"),
    ]
    for body, status, error in posts:
        assert_error(alice.http.post("/catalog/buckets", json=body), status, error)
    not_json = alice.http.post(
        "/catalog/buckets", content=b"{not", headers={"Content-Type": "application/json"}
    )
    assert_error(not_json, 400, "invalid_request")
    assert_error(alice.http.get("/catalog/buckets/bad%20name"), 400, "invalid_request")
    assert_error(alice.http.get("/catalog/buckets", params={"name": "\x00"}), 400, "invalid_request")
    assert_error(alice.http.delete("/catalog/buckets/nowhere-at-all"), 404, "not_found")


def test_admins_give_buckets_to_users(admin: httpx.Client, alice: Caller) -> None:
    name = f"gift-{next(_buckets)}"
    answer = admin.post("/catalog/buckets", json={"name": name, "owner": alice.name})
    assert (answer.status_code, answer.json()["owner"]) == (201, alice.name)
    assert name in [b["name"] for b in alice.http.get("/catalog/buckets").json()]
    assert_error(
        admin.post("/catalog/buckets", json={"name": f"x{name}", "owner": "no-one"}), 400, "invalid_request"
    )


def test_private_buckets_are_invisible_and_public_ones_read_only_to_others(
    alice: Caller, bob: Caller
) -> None:
    private, public = new_bucket(alice), new_bucket(alice, public=True)
    for bucket in (private, public):
        assert put(alice, bucket, "s", "echo hi", "text/x-sh", kind="Script/task").status_code == 201
    listed = [b["name"] for b in bob.http.get("/catalog/buckets").json()]
    assert public in listed and private not in listed
    assert_error(bob.http.get(f"/catalog/buckets/{private}"), 404, "not_found")
    assert_error(bob.http.get(f"/catalog/buckets/{private}/resources/s/raw"), 404, "not_found")
    assert bob.http.get(f"/catalog/buckets/{public}/resources/s/raw").text == "echo hi"
    assert_error(put(bob, public, "s", "rm -rf /", "text/x-sh"), 403, "forbidden")
    assert_error(put(bob, public, "new", "x", "text/plain", kind="Text"), 403, "forbidden")
    assert_error(bob.http.delete(f"/catalog/buckets/{public}/resources/s"), 403, "forbidden")
    assert_error(
        bob.http.post(f"/catalog/buckets/{public}/resources/s/revisions/1/restore"), 403, "forbidden"
    )
    assert_error(bob.http.delete(f"/catalog/buckets/{public}"), 403, "forbidden")


def test_upload_revisions_raw_content_and_restore(alice: Caller, server: LiveServer) -> None:
    bucket = new_bucket(alice)
    answer = alice.http.post(
        f"/catalog/buckets/{bucket}/resources",
        files={"file": ("compute.py", b"result = 1", "application/octet-stream")},
        data={
            "kind": "Script/task",
            "commit_message": "first",
            "content_type": "text/x-python",
            "tags": "a, b",
        },
    )
    assert answer.status_code == 201, answer.text
    first = answer.json()
    assert {
        k: first[k] for k in ("name", "revision", "kind", "content_type", "tags", "author", "commit_message")
    } == {
        "name": "compute.py",
        "revision": 1,
        "kind": "Script/task",
        "content_type": "text/x-python",
        "tags": ["a", "b"],
        "author": alice.name,
        "commit_message": "first",
    }
    assert first["raw_url"] == f"{server.api}/catalog/buckets/{bucket}/resources/compute.py/revisions/1/raw"

    second = put(
        alice, bucket, "compute.py", "result = 2", "text/x-python; charset=utf-8", commit_message="second"
    )
    assert (second.status_code, second.json()["revision"], second.json()["tags"]) == (201, 2, ["a", "b"])

    base = f"/catalog/buckets/{bucket}/resources/compute.py"
    raw = alice.http.get(f"{base}/raw")
    assert (raw.content, raw.headers["content-type"]) == (b"result = 2", "text/x-python; charset=utf-8")
    assert raw.headers["x-content-type-options"] == "nosniff"
    old = alice.http.get(f"{base}/revisions/1/raw")
    assert (old.content, old.headers["content-type"]) == (b"result = 1", "text/x-python")

    revisions = alice.http.get(f"{base}/revisions").json()
    assert [(r["revision"], r["commit_message"]) for r in revisions] == [(2, "second"), (1, "first")]
    assert alice.http.get(f"{base}/revisions/1").json() == first

    restored = alice.http.post(f"{base}/revisions/1/restore")
    assert restored.status_code == 201
    assert (restored.json()["revision"], restored.json()["commit_message"]) == (3, "restored revision 1")
    latest = alice.http.get(base).json()
    assert (latest["revision"], latest["content_type"]) == (3, "text/x-python")
    assert latest["raw_url"] == f"{server.api}{base}/raw"
    assert httpx.get(latest["raw_url"], headers=alice.http.headers).content == b"result = 1"


def test_bad_object_requests(alice: Caller) -> None:
    bucket = new_bucket(alice)
    base = f"/catalog/buckets/{bucket}/resources"
    assert put(alice, bucket, "s", "x", "text/plain", kind="Text").status_code == 201
    cases: list[tuple[httpx.Response, int, str]] = [
        (put(alice, bucket, "new", "x", "text/plain"), 400, "invalid_request"),  # no kind for a new object
        (put(alice, bucket, "bad name", "x", "text/plain", kind="Text"), 400, "invalid_request"),
        (put(alice, bucket, "s", "x", "text/plain", kind="a//b"), 400, "invalid_request"),
        (put(alice, bucket, "s", "x", "nonsense"), 400, "invalid_request"),
        (put(alice, "nowhere-at-all", "s", "x", "text/plain", kind="Text"), 404, "not_found"),
        (alice.http.post(base, data={"kind": "Text"}), 400, "invalid_request"),  # no file
        (alice.http.post(base, files={"file": ("", b"x")}, data={"kind": "Text"}), 400, "invalid_request"),
        (alice.http.get(f"{base}/ghost"), 404, "not_found"),
        (alice.http.get(f"{base}/ghost/raw"), 404, "not_found"),
        (alice.http.delete(f"{base}/ghost"), 404, "not_found"),
        (alice.http.get(f"{base}/ghost/revisions"), 404, "not_found"),
        (alice.http.get(f"{base}/s/revisions/2"), 404, "not_found"),
        (alice.http.get(f"{base}/s/revisions/2/raw"), 404, "not_found"),
        (alice.http.post(f"{base}/s/revisions/9/restore"), 404, "not_found"),
        (alice.http.get(f"{base}/s/revisions/0"), 400, "invalid_request"),
        (alice.http.get(f"{base}/s/revisions/99999999999"), 400, "invalid_request"),
        (alice.http.get(f"{base}/s/revisions/one"), 400, "invalid_request"),
        (alice.http.get(base, params={"limit": 0}), 400, "invalid_request"),
        (alice.http.get(base, params={"limit": "many"}), 400, "invalid_request"),
        (alice.http.get(base, params={"offset": -1}), 400, "invalid_request"),
    ]
    for answer, status, error in cases:
        assert_error(answer, status, error)
    assert alice.http.get(f"{base}/s").json()["revision"] == 1


def test_workflow_objects_show_their_metadata_and_bad_ones_are_refused(alice: Caller) -> None:
    bucket = new_bucket(alice)
    answer = put(alice, bucket, "Answer", WORKFLOW_XML, "application/xml", kind="Workflow/standard")
    assert answer.status_code == 201, answer.text
    metadata = alice.http.get(f"/catalog/buckets/{bucket}/resources/Answer").json()["metadata"]
    assert metadata == {
        "name": "Answer",
        "project_name": "Demo",
        "description": None,
        "variables": [
            {
                "name": "N",
                "value": "21",
                "model": "PA:Integer[1,100]",
                "description": "Half the answer",
                "group": "Input",
                "advanced": False,
                "hidden": False,
            }
        ],
        "generic_information": {"Documentation": "https://example.org/doc"},
        "tags": [],
        "tasks": ["Double"],
    }
    broken = WORKFLOW_XML.replace(
        '<task name="Double">', '<task name="Double"><depends><task ref="Nope"/></depends>'
    )
    refused = put(alice, bucket, "Broken", broken, "application/xml", kind="Workflow/psa")
    body = assert_error(refused, 400, "invalid_workflow")
    assert body["details"] and any("Nope" in d["message"] for d in body["details"])
    assert_error(alice.http.get(f"/catalog/buckets/{bucket}/resources/Broken"), 404, "not_found")
    assert_error(put(alice, bucket, "Answer", b"\xff\xfe", "application/xml"), 400, "invalid_workflow")
    assert alice.http.get(f"/catalog/buckets/{bucket}/resources/Answer").json()["revision"] == 1


def test_objects_are_listed_with_filters_and_pages(alice: Caller) -> None:
    bucket = new_bucket(alice)
    put(alice, bucket, "Answer", WORKFLOW_XML, "application/xml", kind="Workflow/standard", tags="math")
    put(alice, bucket, "pre", "echo", "text/x-sh", kind="Script/pre", tags="math,shell")
    put(alice, bucket, "post", "echo", "text/x-sh", kind="Script/post")
    url = f"/catalog/buckets/{bucket}/resources"

    def names(**query: str | int) -> list[str]:
        answer = alice.http.get(url, params=query)
        assert answer.status_code == 200, answer.text
        return [o["name"] for o in answer.json()["objects"]]

    assert names() == ["Answer", "post", "pre"]
    assert names(kind="Script") == ["post", "pre"]
    assert names(kind="Workflow/standard") == ["Answer"]
    assert names(tag="math") == ["Answer", "pre"]
    assert names(project="Demo") == ["Answer"]
    assert names(content_type="text/x-sh", name="p*") == ["post", "pre"]
    page = alice.http.get(url, params={"limit": 1, "offset": 1}).json()
    assert ([o["name"] for o in page["objects"]], page["total"], page["limit"], page["offset"]) == (
        ["post"],
        3,
        1,
        1,
    )
    with_workflows = alice.http.get("/catalog/buckets", params={"kind": "Workflow"}).json()
    assert bucket in [b["name"] for b in with_workflows]


def test_a_bucket_holding_objects_is_deleted_only_when_forced(alice: Caller) -> None:
    bucket = new_bucket(alice)
    put(alice, bucket, "s", "x", "text/plain", kind="Text")
    body = assert_error(alice.http.delete(f"/catalog/buckets/{bucket}"), 409, "conflict")
    assert "holds 1 objects" in body["message"]
    assert alice.http.delete(f"/catalog/buckets/{bucket}", params={"force": "true"}).status_code == 204
    assert_error(alice.http.get(f"/catalog/buckets/{bucket}/resources/s"), 404, "not_found")


def test_the_builtin_basic_examples_are_served(alice: Caller) -> None:
    page = alice.http.get("/catalog/buckets/basic-examples/resources", params={"kind": "Workflow"}).json()
    assert {o["name"] for o in page["objects"]} >= {"Hello", "Branch", "Loop", "Replicate"}
    hello = next(o for o in page["objects"] if o["name"] == "Hello")
    assert (hello["builtin"], hello["metadata"]["variables"][0]["name"]) == (True, "WHO")
    assert alice.http.get(hello["raw_url"]).text.startswith("# A first runyard workflow")
    assert_error(put(alice, "basic-examples", "Hello", "x", "application/yaml"), 403, "forbidden")


def test_the_catalog_needs_a_session(server: LiveServer) -> None:
    with server.client() as anonymous:
        assert_error(anonymous.get("/catalog/buckets"), 401, "unauthorized")
        assert_error(
            anonymous.get("/catalog/buckets/basic-examples/resources/Hello/raw"), 401, "unauthorized"
        )


def test_the_openapi_document_describes_the_catalog(alice: Caller) -> None:
    paths = alice.http.get("/openapi.json").json()["paths"]
    assert "/api/v1/catalog/buckets/{bucket}/resources/{name}/revisions/{revision}/restore" in paths
    schema = paths["/api/v1/catalog/buckets/{bucket}/resources/{name}"]["get"]["responses"]["200"]
    assert schema["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RevisionOut"}


def wait_for_job(caller: Caller, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result: dict[str, Any] = caller.http.get(f"/jobs/{job_id}/result").json()
        if result["status"] in {"FINISHED", "FAILED", "CANCELED", "KILLED", "IN_ERROR"}:
            return result
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_a_catalog_workflow_runs_and_catalog_script_urls_are_read_as_the_owner(alice: Caller) -> None:
    bucket = new_bucket(alice)  # private: a node could not fetch it without alice's session
    put(alice, bucket, "Answer", WORKFLOW_XML, "application/xml", kind="Workflow/standard")
    put(alice, bucket, "compute.py", "result = 6 * 7", "text/x-python", kind="Script/task")

    submitted = alice.http.post(
        "/jobs", json={"catalog": {"bucket": bucket, "name": "Answer"}, "variables": {"N": 4}}
    )
    assert submitted.status_code == 201, submitted.text
    assert wait_for_job(alice, submitted.json()["id"])["results"] == {"Double": 8}

    uses_script = SCRIPT_XML.replace("BUCKET", bucket)
    submitted = alice.http.post("/jobs", json={"workflow": uses_script})
    assert submitted.status_code == 201, submitted.text
    result = wait_for_job(alice, submitted.json()["id"])
    assert (result["status"], result["results"]) == ("FINISHED", {"Run": 42}), result


LIBRARY_TASK = """
name: Scale
tasks:
  Scale:
    variables:
      FACTOR: {value: "2", model: "PA:Integer", description: "Multiplier"}
    script:
      cpython: result = int(variables.get("FACTOR")) * VERSION
"""
PIPELINE = """
name: Uses_Library
tasks:
  Times_Ten:
    from: BUCKET/Scale
    variables: {FACTOR: "10"}
"""


def test_task_references_expand_at_submission_as_the_submitter_reads_the_catalog(
    alice: Caller, bob: Caller
) -> None:
    bucket = new_bucket(alice)
    put(
        alice, bucket, "Scale", LIBRARY_TASK.replace("VERSION", "1"), "application/yaml", kind="Workflow/task"
    )
    pipeline = PIPELINE.replace("BUCKET", bucket)
    first = alice.http.post("/jobs", content=pipeline, headers={"Content-Type": "application/yaml"})
    assert first.status_code == 201, first.text
    assert wait_for_job(alice, first.json()["id"])["results"] == {"Times_Ten": 10}

    put(
        alice, bucket, "Scale", LIBRARY_TASK.replace("VERSION", "3"), "application/yaml", kind="Workflow/task"
    )
    put(alice, bucket, "Pipeline", pipeline, "application/yaml", kind="Workflow/standard")
    second = alice.http.post("/jobs", json={"catalog": {"bucket": bucket, "name": "Pipeline"}})
    assert second.status_code == 201, second.text
    assert wait_for_job(alice, second.json()["id"])["results"] == {"Times_Ten": 30}

    stored = alice.http.get(f"/jobs/{first.json()['id']}/workflow")
    assert stored.status_code == 200 and stored.headers["content-type"].startswith("application/yaml")
    assert f"runyard.from: {bucket}/Scale@1" in stored.text and "from:" not in stored.text.replace(
        "runyard.from", ""
    )
    assert "* 1" in stored.text and "model: PA:Integer" in stored.text
    as_xml = alice.http.get(f"/jobs/{second.json()['id']}/workflow", params={"format": "xml"})
    assert f'value="{bucket}/Scale@2"' in as_xml.text and "* 3" in as_xml.text
    assert_error(
        alice.http.get(f"/jobs/{second.json()['id']}/workflow", params={"format": "dot"}),
        400,
        "invalid_request",
    )
    assert_error(bob.http.get(f"/jobs/{first.json()['id']}/workflow"), 403, "forbidden")

    # Bob cannot use Alice's private library, and learns nothing of it; nothing is stored.
    before = bob.http.get("/jobs").json()["total"]
    refused = bob.http.post("/jobs", content=pipeline, headers={"Content-Type": "application/yaml"})
    body = assert_error(refused, 400, "invalid_workflow")
    assert f"no bucket {bucket!r}" in body["message"] and "Times_Ten" in body["message"]
    assert bob.http.get("/jobs").json()["total"] == before
    pinned = pipeline.replace("/Scale", "/Scale@7")
    refused = alice.http.post("/jobs", content=pinned, headers={"Content-Type": "application/yaml"})
    assert "revision 7" in assert_error(refused, 400, "invalid_workflow")["message"]


def test_two_revisions_compare_line_by_line(alice: Caller, bob: Caller) -> None:
    """The blocks of a side-by-side view and the unified diff; bad revisions, binary content, another
    user's private bucket: clear refusals."""
    bucket = new_bucket(alice)
    first = "a\nb\nc\nd\n"
    second = "a\nB\nc\nd\ne\n"
    assert put(alice, bucket, "notes", first, "text/plain", kind="Text").status_code == 201
    assert_error(alice.http.get(f"/catalog/buckets/{bucket}/resources/notes/diff"), 400, "invalid_request")
    assert put(alice, bucket, "notes", second, "text/plain").status_code == 201
    answer = alice.http.get(f"/catalog/buckets/{bucket}/resources/notes/diff")
    assert answer.status_code == 200, answer.text
    compared = answer.json()
    assert (compared["from_revision"], compared["to_revision"], compared["identical"]) == (1, 2, False)
    assert [
        (b["kind"], b["left_start"], b["left"], b["right_start"], b["right"]) for b in compared["blocks"]
    ] == [
        ("equal", 1, ["a"], 1, ["a"]),
        ("replace", 2, ["b"], 2, ["B"]),
        ("equal", 3, ["c", "d"], 3, ["c", "d"]),
        ("insert", 5, [], 5, ["e"]),
    ]
    assert compared["unified"].splitlines()[:3] == ["--- notes@1", "+++ notes@2", "@@ -1,4 +1,5 @@"]
    same = alice.http.get(f"/catalog/buckets/{bucket}/resources/notes/diff", params={"from": 2, "to": 2})
    assert same.json()["identical"] and same.json()["unified"] == ""
    missing = alice.http.get(f"/catalog/buckets/{bucket}/resources/notes/diff", params={"from": 9})
    assert "no revision 9" in assert_error(missing, 404, "not_found")["message"]
    assert put(alice, bucket, "notes", b"\xff\xfe\x00binary", "application/octet-stream").status_code == 201
    binary = alice.http.get(f"/catalog/buckets/{bucket}/resources/notes/diff")
    assert "only text compares" in assert_error(binary, 400, "invalid_request")["message"]
    hidden = bob.http.get(f"/catalog/buckets/{bucket}/resources/notes/diff", params={"from": 1, "to": 2})
    assert hidden.status_code in (403, 404)
