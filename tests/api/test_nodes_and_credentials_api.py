"""Nodes (list, lock, tokens) and third-party credentials through REST."""

from __future__ import annotations

import time
from typing import Any

import httpx
import sqlalchemy as sa

from runyard.store.schema import credentials
from support.server import LiveServer

HELLO = "name: Hello\ntasks:\n  - name: Hi\n    script: {language: bash, code: 'echo hi'}\n"

READ_SECRET = """
name: Secretive
tasks:
  - name: Read
    script: {language: cpython, code: "result = credentials['db_password'][::-1]"}
  - name: ReadInBash
    script: {language: bash, code: "echo -n $credentials_db_password | wc -c"}
"""


def _run(client: httpx.Client, workflow: str) -> dict[str, Any]:
    job_id = client.post("/jobs", json={"workflow": workflow}).json()["id"]
    deadline = time.monotonic() + 60
    while (job := client.get(f"/jobs/{job_id}").json())["status"] in ("PENDING", "RUNNING"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    result: dict[str, Any] = client.get(f"/jobs/{job_id}/result").json()
    return {**job, **result}


def test_nodes_are_listed_with_their_state(server: LiveServer) -> None:
    _, token = server.new_user()
    with server.client(token) as client:
        nodes = client.get("/nodes").json()
        assert [n["name"] for n in nodes] == ["local-1", "local-2"]
        assert {n["state"] for n in nodes} <= {"free", "busy"}
        [source] = client.get("/node-sources").json()
        assert (source["name"], source["nodes"]) == ("local", 2)
        assert set(source["states"]) <= {"free", "busy"} and sum(source["states"].values()) == 2
        assert client.post("/nodes/local-1/lock").status_code == 403  # admins only
        assert client.put("/nodes/local-1/tokens/T").status_code == 403


def test_a_locked_node_takes_no_task_until_unlocked(server: LiveServer) -> None:
    with server.client(server.admin_token) as admin:
        try:
            for node in ("local-1", "local-2"):
                locked = admin.post(f"/nodes/{node}/lock").json()
                assert locked["locked"] and locked["state"] == "locked" and locked["locked_by"] == "root"
            job_id = admin.post("/jobs", json={"workflow": HELLO}).json()["id"]
            time.sleep(0.5)
            assert admin.get(f"/jobs/{job_id}").json()["status"] == "PENDING"
        finally:
            for node in ("local-1", "local-2"):
                assert admin.post(f"/nodes/{node}/unlock").json()["state"] in ("free", "busy")
        admin.post(f"/jobs/{job_id}/kill")
        assert admin.post("/nodes/nowhere/lock").status_code == 404


def test_node_tokens_can_be_given_and_taken_back(server: LiveServer) -> None:
    workflow = """
name: NeedsToken
generic_information: {NODE_ACCESS_TOKEN: gpu}
tasks:
  - name: Where
    script: {language: cpython, code: "result = variables['PA_NODE_NAME']"}
"""
    with server.client(server.admin_token) as admin:
        assert admin.put("/nodes/local-2/tokens/gpu").json()["tokens"] == ["gpu"]
        try:
            done = _run(admin, workflow)
            assert done["results"]["Where"] == "local-2"
        finally:
            assert admin.delete("/nodes/local-2/tokens/gpu").status_code == 204
        assert admin.delete("/nodes/local-2/tokens/gpu").status_code == 404
        assert admin.get("/nodes").json()[1]["tokens"] == []


def test_credentials_are_encrypted_at_rest_and_given_to_scripts(server: LiveServer) -> None:
    owner, token = server.new_user()
    with server.client(token) as client:
        assert client.put("/credentials/db_password", json={"value": "hunter22"}).status_code == 201
        assert client.put("/credentials/db_password", json={"value": "s3cr3t-value"}).status_code == 204
        assert client.get("/credentials").json() == {"names": ["db_password"]}
        done = _run(client, READ_SECRET)
        assert done["results"] == {"Read": "eulav-t3rc3s", "ReadInBash": 0}
        assert "12" in client.get(f"/jobs/{done['id']}/logs", params={"task": "ReadInBash"}).text
    url = server.database_url or f"sqlite:///{server.data_dir / 'runyard.db'}"
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(credentials.c.secret).where(credentials.c.owner == owner)
        ).scalar_one()
    engine.dispose()
    assert b"s3cr3t-value" not in stored


def test_credentials_are_per_user(server: LiveServer) -> None:
    _, alice = server.new_user()
    _, bob = server.new_user()
    with server.client(alice) as a, server.client(bob) as b:
        a.put("/credentials/token", json={"value": "alice's"})
        assert b.get("/credentials").json() == {"names": []}
        assert b.delete("/credentials/token").status_code == 404
        assert a.delete("/credentials/token").status_code == 204
        assert a.get("/credentials").json() == {"names": []}


def test_bad_credential_names_and_bodies(server: LiveServer) -> None:
    _, token = server.new_user()
    with server.client(token) as client:
        assert client.put("/credentials/1abc", json={"value": "x"}).status_code == 400
        assert client.put("/credentials/abc", json={"nope": "x"}).status_code == 400
        assert client.put("/credentials/abc", json={"value": "x" * 70000}).status_code == 400
        assert client.get("/credentials").json() == {"names": []}


def test_credential_variables_must_name_one_of_the_users_credentials(server: LiveServer) -> None:
    workflow = """
name: UsesCredential
variables:
  SECRET: {value: db_password, model: "PA:CREDENTIAL"}
tasks:
  - name: Read
    script: {language: cpython, code: "result = len(credentials[variables['SECRET']])"}
"""
    _, token = server.new_user()
    with server.client(token) as client:
        refused = client.post("/jobs", json={"workflow": workflow})
        assert refused.status_code == 400
        assert "SECRET" in refused.json()["message"] and "credentials" in refused.json()["message"]
        client.put("/credentials/db_password", json={"value": "12345"})
        assert _run(client, workflow)["results"] == {"Read": 5}
