"""Jobs through REST: submission forms, listing and filters, state, results, logs, control, deletion."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.helpers import EXAMPLES, wait_for, wait_until
from support.server import LiveServer

SLEEPER = """
name: Sleeper
variables:
  SECONDS: {value: "30", model: "PA:Integer"}
tasks:
  - name: Nap
    script: {language: cpython, code: "import time; time.sleep(int(variables['SECONDS']))"}
"""

FAILING = """
name: Failing
on_task_error: suspendTask
tasks:
  - name: Broken
    script: {language: cpython, code: "raise RuntimeError('broken on purpose')"}
"""


@pytest.fixture
def user(server: LiveServer) -> Iterator[httpx.Client]:
    _, token = server.new_user()
    with server.client(token) as client:
        yield client


def test_submit_yaml_body_with_variable_override(user: httpx.Client) -> None:
    workflow = (EXAMPLES / "hello.yaml").read_text()
    answer = user.post("/jobs?var=WHO=REST", content=workflow, headers={"content-type": "application/yaml"})
    assert answer.status_code == 201
    submitted = answer.json()
    assert submitted["name"] == "Hello" and submitted["status"] == "PENDING"
    job = wait_for(user, submitted["id"])
    assert job["status"] == "FINISHED"
    assert job["variables"]["WHO"] == "REST"
    results = user.get(f"/jobs/{submitted['id']}/result").json()
    assert results["results"]["Greet"] == "hello REST"


def test_submit_xml_body(user: httpx.Client) -> None:
    answer = user.post(
        "/jobs", content=(EXAMPLES / "branch.xml").read_bytes(), headers={"content-type": "application/xml"}
    )
    assert answer.status_code == 201
    assert wait_for(user, answer.json()["id"])["status"] == "FINISHED"


def test_submit_json_with_variables_and_generic_information(user: httpx.Client) -> None:
    body = {
        "workflow": (EXAMPLES / "hello.yaml").read_text(),
        "variables": {"WHO": "json"},
        "generic_information": {"team": "blue", "cost": 3},
    }
    answer = user.post("/jobs", json=body)
    assert answer.status_code == 201
    job = wait_for(user, answer.json()["id"])
    assert job["variables"]["WHO"] == "json"


def test_submit_multipart_file(user: httpx.Client) -> None:
    files = {"file": ("hello.yaml", (EXAMPLES / "hello.yaml").read_bytes(), "application/yaml")}
    answer = user.post("/jobs", files=files, data={"variables": json.dumps({"WHO": "multipart"})})
    assert answer.status_code == 201
    assert wait_for(user, answer.json()["id"])["variables"]["WHO"] == "multipart"


def test_submit_from_the_builtin_catalog(user: httpx.Client) -> None:
    answer = user.post("/jobs", json={"catalog": {"bucket": "basic-examples", "name": "Hello"}})
    assert answer.status_code == 201, answer.text
    assert wait_for(user, answer.json()["id"])["status"] == "FINISHED"


@pytest.mark.parametrize(
    ("kwargs", "status", "error", "reason"),
    [
        (
            {"content": b"<job", "headers": {"content-type": "application/xml"}},
            400,
            "invalid_workflow",
            "malformed XML",
        ),
        (
            {"content": b"tasks: [", "headers": {"content-type": "application/yaml"}},
            400,
            "invalid_workflow",
            "",
        ),
        (
            {"json": {"workflow": SLEEPER, "variables": {"SECONDS": "soon"}}},
            400,
            "invalid_workflow",
            "SECONDS",
        ),
        ({"json": {"workflow": SLEEPER, "variables": {"NOPE": "1"}}}, 400, "invalid_workflow", "NOPE"),
        ({"json": {}}, 400, "invalid_request", "exactly one"),
        (
            {"json": {"workflow": SLEEPER, "catalog": {"bucket": "b", "name": "n"}}},
            400,
            "invalid_request",
            "one",
        ),
        ({"json": {"workflow": 3}}, 400, "invalid_request", "workflow"),
        (
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
            "invalid_request",
            "",
        ),
        (
            {"content": b"hello", "headers": {"content-type": "text/csv"}},
            415,
            "unsupported_media_type",
            "text/csv",
        ),
        ({"files": {"other": ("x", b"y")}}, 400, "invalid_request", "'file' part"),
        ({"json": {"catalog": {"bucket": "basic-examples", "name": "no-such"}}}, 404, "not_found", "no-such"),
        (
            {
                "content": SLEEPER.encode(),
                "headers": {"content-type": "application/yaml"},
                "params": {"var": "X"},
            },
            400,
            "invalid_request",
            "KEY=VALUE",
        ),
    ],
)
def test_bad_submissions_get_a_clear_error_and_store_nothing(
    user: httpx.Client, kwargs: dict[str, Any], status: int, error: str, reason: str
) -> None:
    before = user.get("/jobs").json()["total"]
    answer = user.post("/jobs", **kwargs)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == error
    assert reason in body["message"]
    assert user.get("/jobs").json()["total"] == before


def test_workflow_problems_come_with_their_lines(user: httpx.Client) -> None:
    workflow = (
        "name: Cyclic\ntasks:\n  - name: A\n    depends: [B]\n    script: {language: bash, code: 'true'}\n"
        "  - name: B\n    depends: [A]\n    script: {language: bash, code: 'true'}\n"
    )
    answer = user.post("/jobs", json={"workflow": workflow})
    assert answer.status_code == 400
    details = answer.json()["details"]
    assert any("cycle" in d["message"] for d in details)


def test_list_filters_and_paging(server: LiveServer) -> None:
    _, token = server.new_user()
    with server.client(token) as client:
        ids = []
        for who in ("a", "b", "c"):
            body = {"workflow": (EXAMPLES / "hello.yaml").read_text(), "variables": {"WHO": who}}
            ids.append(client.post("/jobs", json=body).json()["id"])
        failing = client.post("/jobs", json={"workflow": FAILING}).json()["id"]
        for job_id in ids:
            wait_for(client, job_id)
        wait_until(lambda: client.get(f"/jobs/{failing}").json()["status"] == "IN_ERROR")
        page = client.get("/jobs", params={"limit": 2}).json()
        assert page["total"] == 4 and len(page["jobs"]) == 2
        assert [j["id"] for j in page["jobs"]] == [failing, ids[2]]  # newest first
        second = client.get("/jobs", params={"limit": 2, "offset": 2}).json()
        assert [j["id"] for j in second["jobs"]] == [ids[1], ids[0]]
        assert client.get("/jobs", params={"name": "Hel*"}).json()["total"] == 3
        assert client.get("/jobs", params={"name": "*ail*"}).json()["total"] == 1
        assert client.get("/jobs", params={"name": "Hel"}).json()["total"] == 0
        in_error = client.get("/jobs", params={"status": "IN_ERROR"}).json()
        assert [j["id"] for j in in_error["jobs"]] == [failing]
        assert in_error["jobs"][0]["task_counts"] == {"IN_ERROR": 1}
        both = client.get("/jobs", params=[("status", "IN_ERROR"), ("status", "FINISHED")]).json()
        assert both["total"] == 4
        future = client.get("/jobs", params={"submitted_after": time.time() + 60}).json()
        assert future["total"] == 0
        assert client.get("/jobs", params={"limit": 0}).status_code == 400
        assert client.get("/jobs", params={"submitted_after": "yesterday"}).status_code == 400
        client.post(f"/jobs/{failing}/kill")


def test_list_sorts_and_counts_statuses(server: LiveServer) -> None:
    _, token = server.new_user()
    with server.client(token) as client:
        hello = client.post("/jobs", json={"workflow": (EXAMPLES / "hello.yaml").read_text()}).json()["id"]
        failing = client.post("/jobs", json={"workflow": FAILING}).json()["id"]
        wait_for(client, hello)
        wait_until(lambda: client.get(f"/jobs/{failing}").json()["status"] == "IN_ERROR")

        def ids(sort: str) -> list[int]:
            return [j["id"] for j in client.get("/jobs", params={"sort": sort}).json()["jobs"]]

        assert ids("name") == [failing, hello] and ids("-name") == [hello, failing]
        assert ids("id") == [hello, failing] and ids("-id") == [failing, hello]
        assert ids("status") == [hello, failing]  # FINISHED < IN_ERROR
        # the job still in error has not finished: last, whichever way
        assert ids("finished_at") == [hello, failing] and ids("-finished_at") == [hello, failing]
        counts = client.get("/jobs/status-counts", params={"status": "FINISHED"}).json()
        assert counts == {"FINISHED": 1, "IN_ERROR": 1}  # the status filter is what the counts are for
        assert client.get("/jobs/status-counts", params={"name": "Hel*"}).json() == {"FINISHED": 1}
        for bad in ("workflow", "task_counts", "-", "--id", "id desc", "name;drop table jobs"):
            refused = client.get("/jobs", params={"sort": bad})
            assert refused.status_code == 400, bad
            assert "sort" in refused.text
        client.post(f"/jobs/{failing}/kill")


def test_users_see_only_their_jobs_admins_see_all(server: LiveServer) -> None:
    alice, alice_token = server.new_user()
    _, bob_token = server.new_user()
    with (
        server.client(alice_token) as a,
        server.client(bob_token) as b,
        server.client(server.admin_token) as admin,
    ):
        job_id = a.post("/jobs", json={"workflow": (EXAMPLES / "hello.yaml").read_text()}).json()["id"]
        wait_for(a, job_id)
        for path in (
            f"/jobs/{job_id}",
            f"/jobs/{job_id}/result",
            f"/jobs/{job_id}/logs",
            f"/jobs/{job_id}/events",
            f"/jobs/{job_id}/graph",
        ):
            refused = b.get(path)
            assert refused.status_code == 403, path
            assert refused.json()["error"] == "forbidden"
        assert b.post(f"/jobs/{job_id}/kill").status_code == 403
        assert b.delete(f"/jobs/{job_id}").status_code == 403
        assert job_id not in [j["id"] for j in b.get("/jobs").json()["jobs"]]
        assert b.get("/jobs", params={"owner": alice}).status_code == 403
        assert admin.get(f"/jobs/{job_id}").json()["owner"] == alice
        assert [j["id"] for j in admin.get("/jobs", params={"owner": alice}).json()["jobs"]] == [job_id]
        assert b.get("/jobs/999999").status_code == 404


def test_the_graph_links_replicas_branches_and_iterations(user: httpx.Client) -> None:
    def graph(example: str) -> dict[str, Any]:
        content = (EXAMPLES / example).read_bytes()
        job_id = user.post("/jobs", content=content, headers={"content-type": "application/xml"}).json()["id"]
        assert wait_for(user, job_id)["status"] == "FINISHED"
        answer: dict[str, Any] = user.get(f"/jobs/{job_id}/graph").json()
        return answer

    def edges(found: dict[str, Any]) -> set[tuple[str, str, str]]:
        return {(e["source"], e["target"], e["kind"]) for e in found["edges"]}

    replicated = graph("replicate.xml")
    assert [t["name"] for t in replicated["tasks"]][:2] == ["Split", "Process"]
    assert {("Split", "Process*1", "replicate"), ("Process*1", "Merge", "dependency")} <= edges(replicated)
    assert next(t for t in replicated["tasks"] if t["name"] == "Process*1")["replication"] == 1
    branched = edges(graph("branch.xml"))
    assert {("Condition", "If", "if"), ("Condition", "Else", "else")} <= branched
    assert ("Condition", "Continuation", "continuation") in branched
    looped = graph("loop.xml")
    assert {
        ("Loop", "Start#1", "loop"),
        ("Loop#4", "Start#5", "loop"),
        ("Loop#5", "Start#5", "loop"),
    } <= edges(looped)
    assert {t["block"] for t in looped["tasks"] if t["template"] == "Start"} == {"start"}


def test_task_state_result_and_logs(user: httpx.Client) -> None:
    job_id = user.post("/jobs", json={"workflow": (EXAMPLES / "hello.yaml").read_text()}).json()["id"]
    wait_for(user, job_id)
    task = user.get(f"/jobs/{job_id}/tasks/Greet").json()
    assert task["status"] == "FINISHED" and task["executions"] == 1
    assert user.get(f"/jobs/{job_id}/tasks/Greet/result").json()["value"] == "hello world"
    assert user.get(f"/jobs/{job_id}/logs").text == "[Greet] hello world\n[Shout] HELLO WORLD\n"
    assert user.get(f"/jobs/{job_id}/logs", params={"task": "Shout"}).text == "HELLO WORLD\n"
    missing = user.get(f"/jobs/{job_id}/tasks/Nope")
    assert missing.status_code == 404 and "Nope" in missing.json()["message"]


def test_follow_logs_streams_until_the_job_ends(user: httpx.Client) -> None:
    workflow = """
name: Chatty
tasks:
  - name: Talk
    script: {language: bash, code: "for i in 1 2 3; do echo line $i; sleep 0.3; done"}
"""
    job_id = user.post("/jobs", json={"workflow": workflow}).json()["id"]
    received: list[tuple[float, str]] = []
    with user.stream("GET", f"/jobs/{job_id}/logs", params={"follow": True}) as stream:
        for text in stream.iter_text():
            received.append((time.monotonic(), text))
    assert "".join(t for _, t in received) == "[Talk] line 1\n[Talk] line 2\n[Talk] line 3\n"
    assert len(received) >= 2  # lines arrived while the task ran, not all at the end


def test_kill_pause_resume_and_priority(user: httpx.Client) -> None:
    job_id = user.post("/jobs", json={"workflow": SLEEPER}).json()["id"]
    wait_until(lambda: user.get(f"/jobs/{job_id}").json()["status"] == "RUNNING")
    assert user.post(f"/jobs/{job_id}/pause").json() == {"id": job_id, "status": "PAUSED"}
    refused = user.post(f"/jobs/{job_id}/pause")
    assert refused.status_code == 409 and "already PAUSED" in refused.json()["message"]
    assert user.post(f"/jobs/{job_id}/resume").json()["status"] == "RUNNING"
    assert user.put(f"/jobs/{job_id}/priority", json={"priority": "low"}).json() == {"priority": "low"}
    assert user.put(f"/jobs/{job_id}/priority", json={"priority": "highest"}).status_code == 403
    assert user.put(f"/jobs/{job_id}/priority", json={"priority": "urgent"}).status_code == 400
    busy = user.delete(f"/jobs/{job_id}")
    assert busy.status_code == 409 and "kill it" in busy.json()["message"]
    assert user.post(f"/jobs/{job_id}/kill").json() == {"id": job_id, "status": "KILLED"}
    assert user.get(f"/jobs/{job_id}/tasks/Nap").json()["status"] == "ABORTED"
    assert user.post(f"/jobs/{job_id}/kill").status_code == 409
    assert user.post(f"/jobs/{job_id}/explode").status_code in (400, 404)
    assert user.delete(f"/jobs/{job_id}").status_code == 204
    assert user.get(f"/jobs/{job_id}").status_code == 404


def test_restart_an_in_error_task(user: httpx.Client, server: LiveServer) -> None:
    # In the user's userspace: a task sees nothing else of the server's folders (pytest's tmp_path included).
    marker = server.data_dir / "spaces" / "user" / user.get("/me").json()["name"] / "fixed"
    workflow = """
name: Flaky
on_task_error: suspendTask
tasks:
  - name: Flaky
    script:
      language: cpython
      code: |
        import os
        if not os.path.exists(os.path.join(userspace, "fixed")): raise RuntimeError("not fixed yet")
        result = "fixed"
"""
    job_id = user.post("/jobs", json={"workflow": workflow}).json()["id"]
    wait_until(lambda: user.get(f"/jobs/{job_id}/tasks/Flaky").json()["status"] == "IN_ERROR")
    assert "not fixed yet" in user.get(f"/jobs/{job_id}/result").json()["errors"]["Flaky"]
    marker.touch()
    assert user.post(f"/jobs/{job_id}/tasks/Flaky/restart").status_code == 200
    assert wait_for(user, job_id)["status"] == "FINISHED"
    assert user.get(f"/jobs/{job_id}/tasks/Flaky/result").json()["value"] == "fixed"
    again = user.post(f"/jobs/{job_id}/tasks/Flaky/restart")
    assert again.status_code == 409


def test_request_bodies_are_size_limited(server: LiveServer, tmp_path: Path) -> None:
    from support.server import live_server

    with live_server(tmp_path, max_body_bytes=1000) as small, small.client(small.admin_token) as client:
        answer = client.post("/jobs", content=b"x" * 5000, headers={"content-type": "application/yaml"})
        assert answer.status_code == 413
        assert answer.json()["error"] == "too_large"

        def chunks() -> Any:
            for _ in range(10):
                yield b"y" * 500

        streamed = client.post("/jobs", content=chunks(), headers={"content-type": "application/yaml"})
        assert streamed.status_code == 413
        assert client.get("/jobs").json()["total"] == 0


def test_nul_characters_in_urls_are_refused(user: httpx.Client) -> None:
    for answer in (user.get("/jobs", params={"name": "\x00"}), user.get("/jobs/1/tasks/a%00b")):
        assert answer.status_code == 400
        assert answer.json()["message"] == "a NUL character is not allowed in a URL"


def test_controlling_an_unknown_task_is_not_found(user: httpx.Client) -> None:
    job_id = user.post("/jobs", json={"workflow": SLEEPER}).json()["id"]
    try:
        for action in ("kill", "pause", "resume", "restart"):
            answer = user.post(f"/jobs/{job_id}/tasks/Nope/{action}")
            assert answer.status_code == 404, action
            assert answer.json()["message"] == f"job {job_id} has no task 'Nope'"
    finally:
        user.post(f"/jobs/{job_id}/kill")
