"""Hostile callers on ProActive's catalog routes: another user's private bucket, a public bucket one may only
read, names that try to leave the catalog, bodies that try to make it work too hard."""

from __future__ import annotations

import itertools

import pytest

from proactive_catalog.callers import Caller

_buckets = itertools.count(1)
SCRIPT = "print('mine')\n"
UPLOAD = {
    "name": "mine.py",
    "kind": "Script/task",
    "commitMessage": "m",
    "objectContentType": "text/x-python",
}


def _bucket(owner: Caller, *, public: bool) -> str:
    name = f"hostile-{next(_buckets)}"
    params = {"name": name} if public else {"name": name, "owner": owner.name}
    assert owner.http.post("/catalog/buckets", params=params).status_code == 201
    created = owner.http.post(
        f"/catalog/buckets/{name}/resources", data=UPLOAD, files={"file": ("m.py", SCRIPT)}
    )
    assert created.status_code == 201, created.text
    return name


def _unchanged(owner: Caller, bucket: str) -> None:
    assert owner.http.get(f"/catalog/buckets/{bucket}/resources/mine.py/raw").text == SCRIPT
    revisions = owner.http.get(f"/catalog/buckets/{bucket}/resources/mine.py/revisions").json()
    assert [r["commit_message"] for r in revisions] == ["m"]


def test_another_users_private_bucket_is_invisible(alice: Caller, bob: Caller) -> None:
    bucket = _bucket(alice, public=False)
    assert bucket not in [b["name"] for b in bob.http.get("/catalog/buckets").json()]
    assert bob.http.get("/catalog/buckets", params={"owner": alice.name}).json() == []
    base = f"/catalog/buckets/{bucket}"
    for method, path in [
        ("GET", base),
        ("GET", f"{base}/resources"),
        ("GET", f"{base}/resources/mine.py"),
        ("GET", f"{base}/resources/mine.py/raw"),
        ("GET", f"{base}/resources/mine.py/revisions"),
        ("DELETE", f"{base}/resources/mine.py"),
        ("DELETE", base),
    ]:
        answer = bob.http.request(method, path)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["httpErrorCode"] == 404 and alice.name not in answer.text
    upload = bob.http.post(f"{base}/resources", data=UPLOAD | {"name": "x.py"}, files={"file": ("x", "x")})
    assert upload.status_code == 404
    revision = bob.http.post(
        f"{base}/resources/mine.py/revisions", data={"commitMessage": "b"}, files={"file": ("x", "x")}
    )
    assert revision.status_code == 404
    _unchanged(alice, bucket)


def test_a_public_bucket_is_readable_not_writable(alice: Caller, bob: Caller) -> None:
    bucket = _bucket(alice, public=True)
    seen = bob.http.get(f"/catalog/buckets/{bucket}").json()
    assert seen["owner"] == "GROUP:public-objects" and seen["rights"] == "read"
    assert bob.http.get(f"/catalog/buckets/{bucket}/resources/mine.py/raw").text == SCRIPT
    base = f"/catalog/buckets/{bucket}"
    for answer in [
        bob.http.post(f"{base}/resources", data=UPLOAD | {"name": "x.py"}, files={"file": ("x", "x")}),
        bob.http.post(
            f"{base}/resources/mine.py/revisions", data={"commitMessage": "b"}, files={"file": ("x", "x")}
        ),
        bob.http.put(f"{base}/resources/mine.py/revisions/{seen['objectCount']}"),
        bob.http.delete(f"{base}/resources/mine.py"),
        bob.http.delete(base),
    ]:
        assert answer.status_code in (403, 404), answer.text
        assert answer.json()["httpErrorCode"] == answer.status_code
    assert bob.http.delete(f"{base}/resources/mine.py").status_code == 403
    _unchanged(alice, bucket)


def test_a_bucket_for_another_user_needs_an_admin(alice: Caller, bob: Caller) -> None:
    answer = bob.http.post("/catalog/buckets", params={"name": f"gift-{next(_buckets)}", "owner": alice.name})
    assert answer.status_code == 403 and answer.json()["httpErrorCode"] == 403


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "..", ".hidden", "a/b", "x" * 300, "bad\x00name", "semi;colon", "%2e%2e"]
)
def test_object_names_cannot_leave_the_catalog(alice: Caller, name: str) -> None:
    bucket = _bucket(alice, public=False)
    answer = alice.http.post(
        f"/catalog/buckets/{bucket}/resources", data=UPLOAD | {"name": name}, files={"file": ("x", "x")}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["exceptionClass"] == "java.lang.IllegalArgumentException"
    listed = alice.http.get(f"/catalog/buckets/{bucket}/resources").json()
    assert [o["name"] for o in listed] == ["mine.py"]


@pytest.mark.parametrize("path", ["..%2F..%2Fetc%2Fpasswd", "..%2Fmine.py", "%2e%2e"])
def test_encoded_traversal_in_a_path_reads_nothing(alice: Caller, path: str) -> None:
    bucket = _bucket(alice, public=False)
    answer = alice.http.get(f"/catalog/buckets/{bucket}/resources/{path}/raw")
    assert answer.status_code in (400, 404), answer.text
    assert "root:" not in answer.text and SCRIPT not in answer.text


def test_too_many_fields_and_a_missing_file_change_nothing(alice: Caller) -> None:
    bucket = _bucket(alice, public=False)
    fields = UPLOAD | {"name": "many.py"} | {f"extra{i}": "x" for i in range(50)}
    answer = alice.http.post(f"/catalog/buckets/{bucket}/resources", data=fields, files={"file": ("x", "x")})
    assert answer.status_code == 400, answer.text
    two_files = alice.http.post(
        f"/catalog/buckets/{bucket}/resources",
        data=UPLOAD | {"name": "two.py"},
        files=[("file", ("a", "a")), ("file", ("b", "b"))],
    )
    assert two_files.status_code == 400, two_files.text
    not_multipart = alice.http.post(
        f"/catalog/buckets/{bucket}/resources", content=b"{}", headers={"content-type": "application/json"}
    )
    assert not_multipart.status_code == 400
    assert [o["name"] for o in alice.http.get(f"/catalog/buckets/{bucket}/resources").json()] == ["mine.py"]
