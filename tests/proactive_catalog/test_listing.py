"""Listings gather every page of the catalog's own listing (its pages are shrunk here to two objects)."""

from __future__ import annotations

import pytest

from proactive_catalog.callers import Caller
from runyard.api.proactive_catalog import listing


def test_every_page_is_listed_and_counted(alice: Caller, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = "many-objects"
    assert (
        alice.http.post("/catalog/buckets", params={"name": bucket, "owner": alice.name}).status_code == 201
    )
    names = [f"s{i}.py" for i in range(5)]
    for name in names:
        form = {
            "name": name,
            "kind": "Script/task",
            "commitMessage": "m",
            "objectContentType": "text/x-python",
        }
        assert alice.http.post(
            f"/catalog/buckets/{bucket}/resources", data=form, files={"file": ("f", "x")}
        ).is_success
    monkeypatch.setattr(listing, "MAX_PAGE", 2)  # the server runs in this process
    listed = alice.http.get(f"/catalog/buckets/{bucket}/resources").json()
    assert [o["name"] for o in listed] == names
    filtered = alice.http.get(
        f"/catalog/buckets/{bucket}/resources", params={"kind": "Script,Workflow"}
    ).json()
    assert [o["name"] for o in filtered] == names
    paged = alice.http.get(f"/catalog/buckets/{bucket}/resources", params={"pageNo": 2, "pageSize": 2}).json()
    assert [o["name"] for o in paged] == names[4:]
    (counted,) = alice.http.get("/catalog/buckets", params={"bucketName": bucket, "kind": "script"}).json()
    assert counted["objectCount"] == 5
