"""schedulerapi's registerService/detachService, add/removeExternalEndpointUrl and
put/removeThirdPartyCredential: real cpython and Groovy tasks call each; the REST routes under them keep a
job token to its own job, its owner's instances and a write-only reach on its owner's credentials."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from runyard.client import ApiError, Client
from runyard.store.job_endpoints import MAX_ENDPOINTS
from support.server import PASSWORD, LiveServer
from taskapi.conftest import job_token, running_job

SERVICE = """\
name: Idle
generic_information:
  pca.service.id: Idle
  pca.states: (VOID,RUNNING)
tasks:
  Start:
    script:
      cpython: |-
        result = "started"
"""

CPYTHON = """
jid = variables.get("PA_JOB_ID")
iid = int(variables.get("INSTANCE"))
schedulerapi.registerService(jid, iid, True)
detached = schedulerapi.detachService(jid, iid)
schedulerapi.registerService(jid, iid, False)
schedulerapi.addExternalEndpointUrl(jid, "Results", "https://example.org/r?a=1&b=2", "/dashboard/r.png")
schedulerapi.addExternalEndpointUrl(jid, "Gone", "http://127.0.0.1:1/", None)
removed = schedulerapi.removeExternalEndpointUrl(jid, "Gone")
schedulerapi.putThirdPartyCredential("TASK_KEY", "py-secret")
schedulerapi.putThirdPartyCredential("GONE_KEY", "x")
schedulerapi.removeThirdPartyCredential("GONE_KEY")
schedulerapi.removeThirdPartyCredential("NEVER_SET")
refused = []
for call in (
    lambda: schedulerapi.addExternalEndpointUrl(jid, "Evil", "javascript:alert(1)", None),
    lambda: schedulerapi.registerService(jid, int(variables.get("OTHER")), True),
    lambda: schedulerapi.addExternalEndpointUrl(variables.get("ELSEWHERE"), "X", "https://x.org", None),
):
    try:
        call()
        refused.append("done")
    except Exception as error:
        refused.append(str(error))
result = [detached, removed, refused]
"""

GROOVY = """
def jid = variables.get("PA_JOB_ID")
def iid = variables.get("INSTANCE") as int
schedulerapi.registerService(jid, iid, true)
def detached = schedulerapi.detachService(jid, iid)
schedulerapi.registerService(jid, iid, true)
schedulerapi.addExternalEndpointUrl(jid, "Simulation Results", "http://localhost:8080/sim", null)
schedulerapi.addExternalEndpointUrl(jid, "Gone", "https://example.org", "https://example.org/i.png")
def removed = schedulerapi.removeExternalEndpointUrl(jid, "Gone")
schedulerapi.putThirdPartyCredential("GROOVY_KEY", "groovy-secret")
schedulerapi.removeThirdPartyCredential("NEVER_SET")
def refused = ""
try {
    schedulerapi.registerService(jid, variables.get("OTHER") as int, true)
} catch (Exception e) {
    refused = e.getMessage()
}
result = [detached, removed, refused]
"""


def workflow(name: str, language: str, code: str, variables: dict[str, str]) -> str:
    lines = [f"name: {name}", "variables:"]
    lines += [f"  {key}:\n    value: '{value}'" for key, value in variables.items()]
    lines += ["tasks:", "  Call:", "    script:", f"      {language}: |-"]
    lines += [f"        {line}" for line in code.strip().splitlines()]
    return "\n".join(lines) + "\n"


def instance_of(client: Client, bucket: str) -> int:
    """A service instance of ``client``'s user (of a service in their own bucket ``bucket``)."""
    client.create_bucket(bucket)
    client.push_object(bucket, "Idle", SERVICE, kind="Workflow/psa")
    return int(client.start_service("Idle", bucket=bucket)["id"])


@pytest.fixture(scope="module")
def instances(alice: Client, bob: Client) -> tuple[int, int]:
    return instance_of(alice, "alice-idle"), instance_of(bob, "bob-idle")


@pytest.fixture(scope="module")
def alive(server: LiveServer, alice: Client) -> Iterator[tuple[int, str]]:
    """A running job of Alice and its job token."""
    job_id = running_job(alice)
    yield job_id, job_token(server, job_id, alice.whoami()["name"])
    alice.kill_job(job_id)


def as_token(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def run(client: Client, text: str) -> dict[str, Any]:
    job_id = client.submit(text)
    job = client.wait_for_job(job_id, timeout=120)
    assert job["status"] == "FINISHED", client.get_job_output(job_id)
    return dict(job)


def test_a_cpython_task_records_services_endpoints_and_credentials(
    alice: Client, instances: tuple[int, int], alive: tuple[int, str]
) -> None:
    mine, bobs = instances
    variables = {"INSTANCE": str(mine), "OTHER": str(bobs), "ELSEWHERE": str(alive[0])}
    job = run(alice, workflow("Py_Calls", "cpython", CPYTHON, variables))
    detached, removed, (script, others, elsewhere) = job["tasks"][0]["result"]
    assert (detached, removed) == (True, True)
    assert "http:// or https://" in script
    assert "belongs to another user" in others
    assert "own job" in elsewhere
    assert alice.get_job_endpoints(job["id"]) == {
        "endpoints": [
            {"name": "Results", "url": "https://example.org/r?a=1&b=2", "icon": "/dashboard/r.png"}
        ],
        "services": [{"instance_id": mine, "with_endpoints": False}],
    }
    assert alice.get_job_endpoints(alive[0])["endpoints"] == []
    assert "TASK_KEY" in alice.list_credentials() and "GONE_KEY" not in alice.list_credentials()


def test_a_groovy_task_calls_them_as_proactive_scripts_do(alice: Client, instances: tuple[int, int]) -> None:
    mine, bobs = instances
    job = run(alice, workflow("Groovy_Calls", "groovy", GROOVY, {"INSTANCE": str(mine), "OTHER": str(bobs)}))
    detached, removed, refused = job["tasks"][0]["result"]
    assert (detached, removed) == (True, True)
    assert "belongs to another user" in refused
    found = alice.get_job_endpoints(job["id"])
    assert found["endpoints"] == [
        {"name": "Simulation Results", "url": "http://localhost:8080/sim", "icon": None}
    ]
    assert found["services"] == [{"instance_id": mine, "with_endpoints": True}]
    assert "GROOVY_KEY" in alice.list_credentials()


def test_a_job_token_writes_credentials_but_never_reads_them(
    server: LiveServer, alice: Client, bob: Client, alive: tuple[int, str]
) -> None:
    bob.put_credential("SHARED", "bobs")
    alice.put_credential("KEEP", "alices")
    with as_token(server, alive[1]) as task:
        assert task.put("/credentials/SHARED", json={"value": "from-task"}).status_code == 201
        assert task.get("/credentials").status_code == 403
        assert task.put("/credentials/BIG", json={"value": "x" * 65537}).status_code == 400
        assert task.put(f"/credentials/{'n' * 256}", json={"value": "v"}).status_code == 400
        assert task.delete("/credentials/SHARED").status_code == 204
        assert task.get("/users").status_code == 403
    assert "SHARED" in bob.list_credentials() and "SHARED" not in alice.list_credentials()
    assert "BIG" not in alice.list_credentials() and "KEEP" in alice.list_credentials()


def test_endpoints_accept_http_links_only_within_bounds(
    server: LiveServer, alice: Client, alive: tuple[int, str]
) -> None:
    job_id, token = alive
    with as_token(server, token) as task:
        for url in (
            "javascript:alert(1)",
            "file:///etc/passwd",
            "//evil.org",
            "data:text/html,<b>",
            "ftp://x",
        ):
            answer = task.post(f"/jobs/{job_id}/endpoints", json={"name": "Bad", "url": url})
            assert answer.status_code == 400, (url, answer.text)
        answer = task.post(
            f"/jobs/{job_id}/endpoints", json={"name": "I", "url": "https://a.org", "icon": "//x"}
        )
        assert answer.status_code == 400
        assert (
            task.post(
                f"/jobs/{job_id}/endpoints", json={"name": "L", "url": "https://a.org/" + "a" * 2048}
            ).status_code
            == 400
        )
        for n in range(MAX_ENDPOINTS):
            answer = task.post(
                f"/jobs/{job_id}/endpoints", json={"name": f"E{n}", "url": f"https://a.org/{n}"}
            )
            assert answer.status_code == 200, answer.text
        answer = task.post(f"/jobs/{job_id}/endpoints", json={"name": "More", "url": "https://a.org"})
        assert answer.status_code == 400 and "remove one first" in answer.text
        assert (
            task.post(f"/jobs/{job_id}/endpoints", json={"name": "E0", "url": "https://b.org"}).status_code
            == 200
        )
    found = alice.get_job_endpoints(job_id)["endpoints"]
    assert len(found) == MAX_ENDPOINTS and found[0] == {"name": "E0", "url": "https://b.org", "icon": None}
    for n in range(MAX_ENDPOINTS):
        assert alice.remove_job_endpoint(job_id, f"E{n}")
    assert not alice.remove_job_endpoint(job_id, "E0")


def test_another_users_job_and_instance_are_out_of_reach(
    server: LiveServer, alice: Client, bob: Client, instances: tuple[int, int], alive: tuple[int, str]
) -> None:
    mine, bobs = instances
    job_id, token = alive
    bobs_job = bob.submit("name: Bobs\ntasks:\n  T:\n    script:\n      cpython: result = 1\n")
    with as_token(server, token) as task:
        assert task.get(f"/jobs/{bobs_job}/endpoints").status_code == 403
        assert (
            task.post(f"/jobs/{bobs_job}/endpoints", json={"name": "X", "url": "https://x.org"}).status_code
            == 403
        )
        assert task.post(f"/jobs/{bobs_job}/services", json={"instance_id": bobs}).status_code == 403
        assert task.post(f"/jobs/{job_id}/services", json={"instance_id": bobs}).status_code == 403
        assert task.post(f"/jobs/{job_id}/services", json={"instance_id": 10**9}).status_code == 404
        assert task.delete(f"/jobs/{bobs_job}/services/{bobs}").status_code == 403
    with pytest.raises(ApiError) as refused:
        bob.get_job_endpoints(job_id)
    assert refused.value.status == 403
    with pytest.raises(ApiError) as refused:
        bob.attach_service(bobs_job, mine)
    assert refused.value.status == 403
    assert bob.get_job_endpoints(bobs_job) == {"endpoints": [], "services": []}
    assert alice.get_job_endpoints(job_id)["services"] == []


def test_proactives_job_info_holds_the_endpoints_and_services(server: LiveServer) -> None:
    name, token = server.new_user(prefix="pa")
    with Client(server.url, token) as carol:
        instance = instance_of(carol, "carol-idle")
        job_id = carol.submit("name: Linked\ntasks:\n  T:\n    script:\n      cpython: result = 1\n")
        carol.add_job_endpoint(job_id, "Board", "https://board.example.org/", "/icons/b.png")
        carol.attach_service(job_id, instance, with_endpoints=False)
    answer = httpx.post(f"{server.url}/rest/scheduler/login", data={"username": name, "password": PASSWORD})
    info = httpx.get(f"{server.url}/rest/scheduler/jobs/{job_id}/info", headers={"sessionid": answer.text})
    assert info.status_code == 200, info.text
    assert info.json()["externalEndpointUrls"] == {
        "Board": {"url": "https://board.example.org/", "iconUri": "/icons/b.png"}
    }
    assert info.json()["attachedServices"] == {str(instance): False}
