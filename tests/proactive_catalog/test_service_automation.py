"""End to end through ProActive's routes only: upload a service's workflows with ``/catalog``, start it,
follow it, run its finish action with ``/cloud-automation-service``; and what another user cannot do."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any

import httpx
import pytest

from proactive_catalog.callers import Caller
from proactive_catalog.pairs import RECORDED, mismatches
from support.server import LiveServer

SHAPES: dict[str, Any] = json.loads((RECORDED / "service_instance.json").read_text(encoding="utf-8"))
INSTANCES = "/cloud-automation-service/serviceInstances"
FAST = {"HEALTH_CHECK_CRON": "* * * * * */1"}
_buckets = itertools.count(1)


def _fits(shape: str, value: Any, context: dict[str, str]) -> None:
    filled = json.loads(
        json.dumps(SHAPES[shape]).replace("{bucket}", context["bucket"]).replace("{user}", context["user"])
    )
    problems = list(mismatches(filled, value, shape))
    assert not problems, "\n".join(problems) + f"\n{value}"


def _wait(caller: Caller, instance_id: int, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        found: dict[str, Any] = caller.http.get(f"{INSTANCES}/{instance_id}").json()
        if found["instance_status"] == status:
            return found
        assert time.monotonic() < deadline and found["instance_status"] != "ERROR", found
        time.sleep(0.2)


@pytest.fixture
def service_bucket(alice: Caller) -> Iterator[str]:
    """A private bucket of alice's holding the Static_HTTP service's two workflows, uploaded with /catalog."""
    bucket = f"psa-{next(_buckets)}"
    assert (
        alice.http.post("/catalog/buckets", params={"name": bucket, "owner": alice.name}).status_code == 201
    )
    shipped = resources.files("runyard") / "buckets" / "service-automation"
    for name, file in [
        ("Static_HTTP", "static_http.yaml"),
        ("Finish_Static_HTTP", "finish_static_http.yaml"),
    ]:
        form = {
            "name": name,
            "kind": "Workflow/psa",
            "commitMessage": "ours",
            "objectContentType": "application/yaml",
        }
        uploaded = alice.http.post(
            f"/catalog/buckets/{bucket}/resources",
            data=form,
            files={"file": (file, shipped.joinpath(file).read_bytes())},
        )
        assert uploaded.status_code == 201, uploaded.text
    yield bucket


def test_start_follow_and_finish_a_service_uploaded_through_the_catalog(
    server: LiveServer, alice: Caller, bob: Caller, service_bucket: str
) -> None:
    context = {"bucket": service_bucket, "user": alice.name}
    listed = alice.http.get("/cloud-automation-service/catalog", params={"serviceId": "Static_HTTP"}).json()
    assert {(w["bucket"], w["name"]) for w in listed} >= {
        (service_bucket, "Static_HTTP"),
        (service_bucket, "Finish_Static_HTTP"),
    }
    body = {
        "bucket_name": service_bucket,
        "workflow_name": "Static_HTTP",
        "variables": {"CONTENT": "bonjour", "PROXYFIED": True, **FAST},
    }
    started = alice.http.post(INSTANCES, json=body)
    assert started.status_code == 200, started.text
    _fits("started", started.json(), context)
    instance_id = started.json()["instance_id"]

    running = _wait(alice, instance_id, "RUNNING")
    _fits("running", running, context)
    endpoint = running["deployments"][0]["endpoint"]
    assert running["instance_endpoints"] == {endpoint["id"]: endpoint["proxyfiedUrl"]}
    assert httpx.get(endpoint["url"]).text == "bonjour"
    assert alice.http.get(endpoint["proxyfiedUrl"]).text == "bonjour"
    # where ProActive serves it: sent on to runyard's proxy, which checks who asks
    pca = f"/cloud-automation-service/services/{instance_id}/endpoints/{endpoint['id']}/"
    assert alice.http.get(pca, follow_redirects=True).text == "bonjour"
    assert bob.http.get(pca, follow_redirects=True).status_code == 403
    assert running["variables"]["CONTENT"] == "bonjour" and running["variables"]["PCA_INSTANCE_ID"] == str(
        instance_id
    )
    assert instance_id in [i["instance_id"] for i in alice.http.get(f"{INSTANCES}/active").json()]
    actions = alice.http.get(f"{INSTANCES}/{instance_id}/actions").json()
    assert len(actions) == 1
    _fits("finish_action", actions[0], context)

    # another user sees nothing of it and cannot act on it
    assert instance_id not in [i["instance_id"] for i in bob.http.get(INSTANCES).json()]
    for method, path, payload in [
        ("GET", f"{INSTANCES}/{instance_id}", None),
        ("GET", f"{INSTANCES}/{instance_id}/actions", None),
        (
            "PUT",
            f"{INSTANCES}/{instance_id}/action",
            {"bucket_name": service_bucket, "workflow_name": "Finish_Static_HTTP"},
        ),
    ]:
        refused = bob.http.request(method, path, json=payload)
        assert refused.status_code == 403, refused.text
        _fits("error", refused.json(), context)
    # an action from another bucket (its code would run as alice), an action the state does not allow
    elsewhere = {"bucket_name": "service-automation", "workflow_name": "Finish_Static_HTTP"}
    assert alice.http.put(f"{INSTANCES}/{instance_id}/action", json=elsewhere).status_code == 400
    again = {"bucket_name": service_bucket, "workflow_name": "Static_HTTP"}
    conflict = alice.http.put(f"{INSTANCES}/{instance_id}/action", json=again)
    assert conflict.status_code == 409 and conflict.json()["httpErrorCode"] == 409
    assert len(alice.http.get(f"{INSTANCES}/{instance_id}").json()["job_submissions"]) == 1

    finish = {"bucket_name": service_bucket, "workflow_name": "Finish_Static_HTTP"}
    finishing = alice.http.put(f"{INSTANCES}/{instance_id}/action", json=finish)
    assert finishing.status_code == 200, finishing.text
    finished = _wait(alice, instance_id, "FINISHED")
    _fits("finished", finished, context)
    assert instance_id not in [i["instance_id"] for i in alice.http.get(f"{INSTANCES}/active").json()]
    assert alice.http.get(f"{INSTANCES}/{instance_id}/actions").json() == []


def test_bad_starts_create_nothing(alice: Caller, bob: Caller, service_bucket: str) -> None:
    before = alice.http.get(INSTANCES).json()
    for body, status in [
        ({"bucket_name": service_bucket, "workflow_name": "No_Such_Workflow"}, 404),
        ({"bucket_name": service_bucket, "workflow_name": "Finish_Static_HTTP"}, 404),  # not an activation
        (
            {
                "bucket_name": service_bucket,
                "workflow_name": "Static_HTTP",
                "variables": {"SERVICE_PORT": "eighty"},
            },
            400,
        ),
        ({"bucket_name": service_bucket, "workflow_name": "Static_HTTP", "variables": {"NOPE": "1"}}, 400),
        ({"bucket_name": service_bucket}, 400),
        (
            {"bucket_name": service_bucket, "workflow_name": "Static_HTTP", "variables": ["not", "a", "map"]},
            400,
        ),
    ]:
        answer = alice.http.post(INSTANCES, json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["httpErrorCode"] == status
    # bob may not start a service from alice's private bucket (its code would run as bob, his data in it)
    assert (
        bob.http.post(
            INSTANCES, json={"bucket_name": service_bucket, "workflow_name": "Static_HTTP"}
        ).status_code
        == 404
    )
    malformed = alice.http.post(INSTANCES, content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 400
    assert alice.http.get(INSTANCES).json() == before
    assert alice.http.get(f"{INSTANCES}/999999").status_code == 404
    assert alice.http.get(f"{INSTANCES}/-1").status_code == 400
    forged = httpx.get(f"{alice.http.base_url}{INSTANCES}", headers={"sessionid": "forged"})
    assert forged.status_code == 401 and forged.json()["httpErrorCode"] == 401
