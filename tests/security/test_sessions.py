"""Attacks on sessions and job tokens (issue 9, findings 9 and 10), on SQLite and PostgreSQL.

A job token (``RUNYARD_TOKEN``) is what any code in a task holds: it must act for the job's owner only
on what tasks need, never on accounts, sessions, reading credentials or nodes, even when the owner is an
admin. A password change or reset must end the account's sessions. A submission retried with its
``Idempotency-Key`` must not make a second job. Creating a bucket must not tell whose a name is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from runyard.client import Client
from support.hostile import HostileUser, hostile_users
from support.server import PASSWORD, LiveServer, bearer
from support.service_lifecycle import finish, start

#: A job whose task ``Leak`` hands out its job token as its result while ``Hold`` keeps the job alive.
HOLDER = """\
name: Holder
tasks:
  Leak:
    script:
      cpython: |-
        import os
        result = os.environ["RUNYARD_TOKEN"]
  Hold:
    depends: [Leak]
    script:
      cpython: |-
        import time
        time.sleep(600)
"""
SHORT = "name: Short\ntasks:\n  Say:\n    script:\n      cpython: result = 1\n"

#: Operations of the OpenAPI document a job token reaches on things that are not its own job's.
OPEN_TO_JOB_TOKENS = {
    "GET /api/v1/health",  # these three need no token at all
    "POST /api/v1/sessions",
    "POST /api/v1/sessions/form",
    "GET /api/v1/me",
    "POST /api/v1/jobs",
    "GET /api/v1/jobs",
    "GET /api/v1/jobs/{job_id}",
    "GET /api/v1/jobs/{job_id}/result",
    "GET /api/v1/jobs/{job_id}/result-map",
    "GET /api/v1/jobs/{job_id}/tasks/{task}",
    "GET /api/v1/jobs/{job_id}/workflow",
    "GET /api/v1/jobs/{job_id}/tasks/{task}/result",
    "GET /api/v1/jobs/{job_id}/logs",
    "GET /api/v1/jobs/{job_id}/events",
    "GET /api/v1/userspace",
    "GET /api/v1/userspace/{path}",
    "GET /api/v1/catalog/buckets",
    "GET /api/v1/catalog/buckets/{bucket}",
    "GET /api/v1/catalog/buckets/{bucket}/resources",
    "GET /api/v1/catalog/buckets/{bucket}/resources/{name}",
    "GET /api/v1/catalog/buckets/{bucket}/resources/{name}/raw",
    "GET /api/v1/catalog/buckets/{bucket}/resources/{name}/revisions",
    "GET /api/v1/catalog/buckets/{bucket}/resources/{name}/diff",
    "GET /api/v1/catalog/buckets/{bucket}/resources/{name}/revisions/{revision}",
    "GET /api/v1/catalog/buckets/{bucket}/resources/{name}/revisions/{revision}/raw",
    "GET /api/v1/services",
    "GET /api/v1/services/{service_id}",
    "GET /api/v1/service-instances",
    "POST /api/v1/service-instances",
    "GET /api/v1/service-instances/{instance_id}",
    "GET /api/v1/service-instances/{instance_id}/endpoints",
    "GET /api/v1/service-instances/{instance_id}/events",
    "POST /api/v1/notifications",  # for the owner, from the job
    "GET /api/v1/nodes",  # as the owner sees them (rmapi)
    "GET /api/v1/channels",  # the owner's synchronization channels (synchronizationapi)
    "PUT /api/v1/channels/{name}",
    "DELETE /api/v1/channels/{name}",
    "GET /api/v1/channels/{name}/entries",
    "GET /api/v1/channels/{name}/entries/{key}",
    "PUT /api/v1/channels/{name}/entries/{key}",
    "DELETE /api/v1/channels/{name}/entries/{key}",
    "PUT /api/v1/credentials/{name}",  # write-only (schedulerapi.putThirdPartyCredential): never read
    "DELETE /api/v1/credentials/{name}",
    "GET /api/v1/jobs/{job_id}/endpoints",
}
#: Open to a job token on its own job, on the service instance its job serves, or on the instances its job
#: started (their actions), only.
OWN_THINGS_ONLY = {
    "POST /api/v1/service-instances/{instance_id}/actions/{action}",
    "POST /api/v1/jobs/{job_id}/{action}",
    "POST /api/v1/jobs/{job_id}/tasks/{task}/{action}",
    "PUT /api/v1/jobs/{job_id}/priority",
    "GET /api/v1/jobs/{job_id}/tuning-journal",
    "POST /api/v1/jobs/{job_id}/tuning-journal",
    "PATCH /api/v1/service-instances/{instance_id}",
    "POST /api/v1/service-instances/{instance_id}/ports",
    "POST /api/v1/service-instances/{instance_id}/node-tokens",
    "DELETE /api/v1/service-instances/{instance_id}/node-tokens/{token}",
    "POST /api/v1/service-instances/{instance_id}/notification-token",
    "POST /api/v1/service-instances/{instance_id}/containers",
    "GET /api/v1/service-instances/{instance_id}/containers/{ref}",
    "GET /api/v1/service-instances/{instance_id}/containers/{ref}/logs",
    "POST /api/v1/service-instances/{instance_id}/containers/{ref}/{change}",
    "GET /api/v1/jobs/{job_id}/signals",  # its own job's only (signalapi)
    "DELETE /api/v1/jobs/{job_id}/signals",
    "PUT /api/v1/jobs/{job_id}/signals/{name}/ready",
    "POST /api/v1/jobs/{job_id}/signals/{name}",
    "GET /api/v1/jobs/{job_id}/signals/received",
    "POST /api/v1/jobs/{job_id}/endpoints",  # schedulerapi.addExternalEndpointUrl, registerService...
    "DELETE /api/v1/jobs/{job_id}/endpoints",
    "POST /api/v1/jobs/{job_id}/services",
    "DELETE /api/v1/jobs/{job_id}/services/{instance_id}",
}
#: Path parameters naming nothing that exists (a real action where the path only allows a few).
PLACEHOLDERS = {"action": "kill", "revision": "1", "job_id": "2147483000", "instance_id": "2147483000"}


@pytest.fixture(scope="module")
def users(server: LiveServer) -> list[HostileUser]:
    return hostile_users(server)


@pytest.fixture(scope="module")
def held(server: LiveServer, users: list[HostileUser]) -> Iterator[tuple[int, str]]:
    """A live job of the first user's and its job token; killed at the end."""
    with users[0].client() as api:
        job = _held_job(api)
        yield job
        api.post(f"/jobs/{job[0]}/kill")


def test_a_task_cannot_change_its_owners_password(server: LiveServer, users: list[HostileUser]) -> None:
    """Finding 9: a hijacked task owned its owner's account for good by changing the password."""
    code = """
import os, httpx
api = os.environ["RUNYARD_URL"].rstrip("/") + "/api/v1"
headers = {"Authorization": "Bearer " + os.environ["RUNYARD_TOKEN"]}
me = httpx.get(api + "/me", headers=headers).json()["name"]
answer = httpx.put(f"{api}/users/{me}/password", json={"password": "owned by a task"}, headers=headers)
result = [me, answer.status_code, answer.text]
"""
    run = users[1].run(code)
    assert run.status == "FINISHED", run.output
    assert run.result[:2] == [users[1].name, 403], run.result
    assert "job token" in run.result[2]
    assert server.login(users[1].name, PASSWORD)
    with pytest.raises(httpx.HTTPStatusError):
        server.login(users[1].name, "owned by a task")


@pytest.mark.parametrize("owner", ["user", "admin"])
def test_job_tokens_reach_only_what_tasks_need(
    server: LiveServer, users: list[HostileUser], held: tuple[int, str], owner: str
) -> None:
    """Every operation of the OpenAPI document, with a job token of a user's job and of an admin's."""
    if owner == "user":
        token = held[1]
    else:
        with server.client(server.admin_token) as admin:
            job_id, token = _held_job(admin)
    try:
        reached = _walk(server, token)
    finally:
        if owner == "admin":
            with server.client(server.admin_token) as admin:
                admin.post(f"/jobs/{job_id}/kill")
    assert {op for op, answer in reached.items() if answer == "reached"} == OPEN_TO_JOB_TOKENS
    assert {op for op, answer in reached.items() if answer == "own only"} == OWN_THINGS_ONLY
    assert "PUT /api/v1/users/{name}/password" in reached and "GET /api/v1/users" in reached


def test_a_job_token_controls_its_own_job_only(
    server: LiveServer, users: list[HostileUser], held: tuple[int, str]
) -> None:
    job_id, token = held
    other = users[0].submit(HOLDER)
    try:
        with server.client(token) as task:
            own = task.put(f"/jobs/{job_id}/priority", json={"priority": "low"})
            assert own.status_code == 200, own.text
            for method, path, body in [
                ("PUT", f"/jobs/{other}/priority", {"priority": "low"}),
                ("POST", f"/jobs/{other}/kill", None),
                ("POST", f"/jobs/{other}/tasks/Hold/kill", None),
            ]:
                answer = task.request(method, path, json=body)
                assert answer.status_code == 403, f"{method} {path}: {answer.text}"
            assert task.get(f"/jobs/{other}").json()["status"] in {"PENDING", "RUNNING"}
    finally:
        with users[0].client() as api:
            api.post(f"/jobs/{other}/kill")


#: A job whose result is its generic information ``PARENT_JOB_ID`` (None when it has none).
PARENT = """\
name: Parent
tasks:
  Parent:
    script:
      cpython: result = genericInformation.get("PARENT_JOB_ID")
"""


def _parent_seen(api: httpx.Client, gi: dict[str, str]) -> tuple[int, Any]:
    """Submit :data:`PARENT` with ``gi``: the job's id and what its task read as ``PARENT_JOB_ID``."""
    return _submitted_result(api, {"workflow": PARENT, "generic_information": gi}, "Parent")


def test_a_job_token_controls_the_jobs_its_tasks_submitted(
    server: LiveServer, users: list[HostileUser], held: tuple[int, str]
) -> None:
    """A job a task submits is its job's child (ProActive's ``parentId`` and ``PARENT_JOB_ID``): the
    parent's token controls it and its own children. The parent is the platform's record: a job naming
    a parent in its generic information is nobody's child, and a child does not control its parent."""
    job_id, token = held
    with server.client(token) as task, users[0].client() as api:
        child_gi = _parent_seen(task, {"PARENT_JOB_ID": "1"})
        forged_gi = _parent_seen(api, {"PARENT_JOB_ID": str(job_id)})
        assert child_gi[1] == str(job_id) and forged_gi[1] is None, (child_gi, forged_gi)
        assert api.get(f"/jobs/{child_gi[0]}").json()["parent_id"] == job_id
        assert api.get(f"/jobs/{forged_gi[0]}").json()["parent_id"] is None

        child, child_token = _held_job(task)
        forged = api.post(
            "/jobs", json={"workflow": HOLDER, "generic_information": {"PARENT_JOB_ID": str(job_id)}}
        )
        submitted = [forged.json()["id"], child]  # killed at the end
        try:
            with server.client(child_token) as child_task:
                grandchild = child_task.post("/jobs", json={"workflow": HOLDER}).json()["id"]
                submitted.append(grandchild)
                assert child_task.post(f"/jobs/{job_id}/kill").status_code == 403
            listed = {j["id"]: j["parent_id"] for j in api.get("/jobs").json()["jobs"]}
            assert (listed[child], listed[grandchild]) == (job_id, child)
            assert task.post(f"/jobs/{forged.json()['id']}/kill").status_code == 403
            for descendant in (grandchild, child):
                answer = task.put(f"/jobs/{descendant}/priority", json={"priority": "low"})
                assert answer.status_code == 200, answer.text
            assert task.post(f"/jobs/{child}/kill").status_code == 200
            assert api.get(f"/jobs/{child}").json()["status"] == "KILLED"
            assert api.get(f"/jobs/{job_id}").json()["status"] == "RUNNING"
            # A removed job's id may be given again (SQLite): its children, alive, no longer name it.
            assert api.delete(f"/jobs/{child}").status_code == 204
            assert api.put(f"/jobs/{grandchild}/priority", json={"priority": "normal"}).status_code == 200
            assert api.get(f"/jobs/{grandchild}").json()["parent_id"] is None
            assert task.post(f"/jobs/{grandchild}/kill").status_code == 403  # the line is cut
        finally:
            for job in submitted:
                api.post(f"/jobs/{job}/kill")


def test_a_job_token_dies_with_its_job(server: LiveServer, users: list[HostileUser]) -> None:
    with users[2].client() as api:
        job_id, token = _held_job(api)
        with server.client(token) as task:
            assert task.get(f"/jobs/{job_id}").status_code == 200
            assert api.post(f"/jobs/{job_id}/kill").status_code == 200
            time.sleep(2.5)  # past the few seconds a token stays in the server's cache
            assert task.get(f"/jobs/{job_id}").status_code == 401


def test_an_admin_password_reset_ends_the_users_sessions(server: LiveServer) -> None:
    name, first = server.new_user(prefix="reset")
    second = server.login(name)
    with server.client(server.admin_token) as admin:
        assert admin.put(f"/users/{name}/password", json={"password": "reset by an admin"}).status_code == 204
    for token in (first, second):
        with server.client(token) as stolen:
            answer = stolen.get("/me")
            assert answer.status_code == 401, answer.text
            assert set(answer.json()) == {"error", "message", "details"}
    assert server.login(name, "reset by an admin")


def test_changing_ones_password_ends_ones_sessions(server: LiveServer) -> None:
    name, current = server.new_user(prefix="change")
    other = server.login(name)
    with server.client(current) as api:
        assert api.put(f"/users/{name}/password", json={"password": "changed by myself"}).status_code == 204
        assert api.get("/me").status_code == 401
    with server.client(other) as api:
        assert api.get("/me").status_code == 401
    with server.client(server.login(name, "changed by myself")) as api:
        assert api.get("/me").json()["name"] == name


def test_a_retried_submission_gets_the_same_job(server: LiveServer, users: list[HostileUser]) -> None:
    first, second = users[0], users[1]
    key = {"Idempotency-Key": f"retry-{time.time()}"}
    with first.client() as api:
        before = api.get("/jobs", params={"limit": 1}).json()["total"]
        with ThreadPoolExecutor(4) as pool:  # retries that cross the first answer on the wire
            answers = list(
                pool.map(lambda _: api.post("/jobs", json={"workflow": SHORT}, headers=key), range(4))
            )
        later = api.post("/jobs", json={"workflow": SHORT}, headers=key)
        assert [a.status_code for a in [*answers, later]] == [201] * 5, [a.text for a in answers]
        ids = {a.json()["id"] for a in [*answers, later]}
        assert len(ids) == 1
        assert api.get("/jobs", params={"limit": 1}).json()["total"] == before + 1
        fresh = api.post(
            "/jobs", json={"workflow": SHORT}, headers={"Idempotency-Key": f"other-{time.time()}"}
        )
        assert fresh.status_code == 201 and fresh.json()["id"] not in ids
    with second.client() as api:
        theirs = api.post("/jobs", json={"workflow": SHORT}, headers=key)
        assert theirs.status_code == 201 and theirs.json()["id"] not in ids
        assert api.get(f"/jobs/{ids.pop()}").status_code == 403


def test_the_key_of_a_removed_job_never_names_another_users_job(users: list[HostileUser]) -> None:
    """SQLite gives a removed job's id to the next job: a retry with the removed job's key is a new
    submission, never an answer naming the job that took the id (another user's, here)."""
    first, second = users[0], users[1]
    key = {"Idempotency-Key": f"removed-{time.time()}"}
    with first.client() as api:
        removed = api.post("/jobs", json={"workflow": SHORT}, headers=key).json()["id"]
        first.wait(removed)
        assert api.delete(f"/jobs/{removed}").status_code == 204
    with second.client() as api:
        theirs = api.post("/jobs", json={"workflow": SHORT.replace("name: Short", "name: Theirs")}).json()
    with first.client() as api:
        retried = api.post("/jobs", json={"workflow": SHORT}, headers=key)
        assert retried.status_code == 201, retried.text
        assert retried.json()["id"] != theirs["id"] and retried.json()["name"] != "Theirs", retried.json()
        assert api.get(f"/jobs/{retried.json()['id']}").status_code == 200


@pytest.mark.parametrize("key", ["x" * 256, "", "with space", "caf\u00e9"])
def test_idempotency_keys_are_bounded(users: list[HostileUser], key: str) -> None:
    with users[0].client() as api:
        answer = api.post("/jobs", json={"workflow": SHORT}, headers=[(b"Idempotency-Key", key.encode())])
    assert answer.status_code == 400, answer.text
    assert set(answer.json()) == {"error", "message", "details"}


def test_creating_a_bucket_does_not_tell_whose_a_name_is(
    server: LiveServer, users: list[HostileUser]
) -> None:
    """A name taken by someone's private bucket answers as any taken name: not whose, not private."""
    alice, mallory = users[0], users[1]
    stamp = int(time.time() * 1000)
    with alice.client() as api:
        for name, public in ((f"private-{stamp}", False), (f"public-{stamp}", True)):
            assert api.post("/catalog/buckets", json={"name": name, "public": public}).status_code == 201
    with mallory.client() as api:
        assert api.post("/catalog/buckets", json={"name": f"mine-{stamp}"}).status_code == 201
        answers = {
            kind: api.post("/catalog/buckets", json={"name": f"{kind}-{stamp}"})
            for kind in ("private", "public", "mine")
        }
    bodies = {kind: _without(answer.json(), f"{kind}-{stamp}") for kind, answer in answers.items()}
    assert {answer.status_code for answer in answers.values()} == {409}
    assert bodies["private"] == bodies["public"] == bodies["mine"]
    message = bodies["private"]["message"]
    assert "not available" in message
    for revealing in ("exist", "private", alice.name):
        assert revealing not in message


def _held_job(api: httpx.Client) -> tuple[int, str]:
    """Submit :data:`HOLDER`; its id and job token once ``Leak`` has finished."""
    return _submitted_result(api, {"workflow": HOLDER}, "Leak")


def _submitted_result(api: httpx.Client, submission: dict[str, Any], task: str) -> tuple[int, Any]:
    """Submit ``submission``: the job's id and the result of its ``task`` once it has finished."""
    submitted = api.post("/jobs", json=submission)
    assert submitted.status_code == 201, submitted.text
    job_id: int = submitted.json()["id"]
    deadline = time.monotonic() + 60
    while (answer := api.get(f"/jobs/{job_id}/tasks/{task}/result").json())["status"] != "FINISHED":
        assert answer["status"] in {"PENDING", "SUBMITTED", "RUNNING"}, answer
        assert time.monotonic() < deadline, answer
        time.sleep(0.1)
    return job_id, answer["value"]


def _walk(server: LiveServer, token: str) -> dict[str, str]:
    """``METHOD path`` of every operation → ``reached``, ``own only`` (403 for a job token acting on what
    is not its job's) or ``refused`` (403 for a job token at all)."""
    schema = httpx.get(f"{server.api}/openapi.json").json()
    outcomes: dict[str, str] = {}
    with httpx.Client(base_url=server.url, headers=bearer(token), timeout=10) as task:
        for path, operations in schema["paths"].items():
            url = path
            for name in [
                p["name"] for o in operations.values() for p in o.get("parameters", []) if p["in"] == "path"
            ]:
                url = url.replace(f"{{{name}}}", PLACEHOLDERS.get(name, "nothing-here"))
            for method in operations:
                answer = task.request(method.upper(), url, json={})
                outcomes[f"{method.upper()} {path}"] = _outcome(answer)
    return outcomes


def _outcome(answer: httpx.Response) -> str:
    body: dict[str, Any] = answer.json() if answer.headers.get("content-type") == "application/json" else {}
    assert answer.status_code != 401, answer.text
    if answer.status_code != 403 or "job token" not in str(body.get("message")):
        return "reached"
    return "refused" if "may not do this" in body["message"] else "own only"


def _without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        key: value.replace(name, "NAME") if isinstance(value, str) else value for key, value in body.items()
    }


def test_a_service_ends_without_managing_its_owners_credentials(server: LiveServer) -> None:
    """The service helpers do not remove the credential ``CREDENTIALS_KEY`` names: a job token may
    remove its owner's credentials (``schedulerapi.removeThirdPartyCredential``), but the instance's
    variables are its tasks' to write, so trusting that name would let a service's own task make its
    finish delete any of the owner's credentials. The instance still ends cleanly, its node token
    given back, and the owner's credential is hers to remove."""
    (owner,) = hostile_users(server, 1)
    with Client(server.url, owner.token) as client:
        client.put_credential("API_KEY", "s3cret")
        instance = start(client, "Static_HTTP", {})
        client.update_service_instance(instance["id"], variables={"CREDENTIALS_KEY": "API_KEY"})
        done = finish(client, instance, "Finish_Static_HTTP")
        logs = "\n".join(client.get_job_output(s["job_id"]) for s in done["job_submissions"])
        assert "failed" not in logs, logs
        assert client.list_credentials() == ["API_KEY"]
