"""Catalog buckets, objects and revisions through the SDK."""

from __future__ import annotations

import pytest

from client.helpers import EXAMPLES
from runyard.client import ApiError, Client


def test_builtin_bucket_is_readable_not_writable(alice: Client) -> None:
    assert "basic-examples" in [b["name"] for b in alice.list_buckets()]
    listed = alice.list_objects("basic-examples", kind="Workflow")
    assert "Replicate" in [o["name"] for o in listed["objects"]]
    replicate = alice.get_object("basic-examples", "Replicate")
    assert replicate["metadata"] is not None and replicate["metadata"]["tasks"] == [
        "Split",
        "Process",
        "Merge",
    ]
    assert alice.pull_object("basic-examples", "Replicate").startswith(b"<?xml")
    with pytest.raises(ApiError) as caught:
        alice.push_object("basic-examples", "Mine", b"text", kind="Text")
    assert caught.value.status == 403


def test_push_pull_revisions_and_restore(alice: Client) -> None:
    bucket = alice.create_bucket("sdk-bucket")
    assert (bucket["name"], bucket["public"], bucket["object_count"]) == ("sdk-bucket", False, 0)
    first = alice.push_object("sdk-bucket", "hello", EXAMPLES / "hello.yaml", kind="Workflow/standard")
    assert (first["revision"], first["content_type"]) == (1, "application/yaml")
    second = alice.push_object(
        "sdk-bucket",
        "hello",
        "name: Hello_2\ntasks:\n  A:\n    script:\n      bash: echo 2\n",
        commit_message="v2",
    )
    assert (second["revision"], second["kind"], second["commit_message"]) == (2, "Workflow/standard", "v2")
    assert [r["revision"] for r in alice.list_revisions("sdk-bucket", "hello")] == [2, 1]
    metadata = alice.get_revision("sdk-bucket", "hello", 1)["metadata"]
    assert metadata is not None and metadata["name"] == "Hello"
    assert alice.pull_object("sdk-bucket", "hello", 1) == (EXAMPLES / "hello.yaml").read_bytes()
    restored = alice.restore_revision("sdk-bucket", "hello", 1)
    assert (restored["revision"], restored["commit_message"]) == (3, "restored revision 1")
    assert alice.pull_object("sdk-bucket", "hello") == (EXAMPLES / "hello.yaml").read_bytes()
    job_id = alice.submit_from_catalog("sdk-bucket", "hello", {"WHO": "catalog"})
    alice.wait_for_job(job_id, timeout=30)
    assert alice.get_task_result(job_id, "Greet") == "hello catalog"

    note = alice.push_object(
        "sdk-bucket", "note", b"plain", kind="Text", content_type="text/plain", tags=["a", "b"]
    )
    assert (note["content_type"], note["tags"]) == ("text/plain", ["a", "b"])
    with pytest.raises(ApiError) as no_kind:
        alice.push_object("sdk-bucket", "kindless", b"x")
    assert no_kind.value.status == 400
    with pytest.raises(ApiError) as bad_workflow:
        alice.push_object("sdk-bucket", "bad", b"name: x\n", kind="Workflow/standard")
    assert bad_workflow.value.status == 400
    with pytest.raises(ApiError) as not_empty:
        alice.delete_bucket("sdk-bucket")
    assert not_empty.value.status == 409
    alice.delete_object("sdk-bucket", "note")
    with pytest.raises(ApiError) as gone:
        alice.pull_object("sdk-bucket", "note")
    assert gone.value.status == 404
    alice.delete_bucket("sdk-bucket", force=True)
    assert "sdk-bucket" not in [b["name"] for b in alice.list_buckets()]


def test_private_buckets_are_hidden_from_other_users(alice: Client, admin: Client) -> None:
    admin.create_bucket("admins-only")
    admin.push_object("admins-only", "secret", b"x", kind="Text")
    assert "admins-only" not in [b["name"] for b in alice.list_buckets()]
    with pytest.raises(ApiError) as caught:
        alice.pull_object("admins-only", "secret")
    assert caught.value.status == 404
    admin.delete_bucket("admins-only", force=True)
