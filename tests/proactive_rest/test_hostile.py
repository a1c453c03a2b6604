"""ProActive's REST under attack and misuse: another user's jobs, forged and ended sessions, bad input,
the link header, data space paths. Every refusal is ProActive's error shape and leaves state as it was."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from proactive_rest.conftest import HELLO, SLEEPER, ProActiveSession, error_of, proactive_login
from support.server import LiveServer


@pytest.fixture(scope="module")
def victim_job(sessions: list[ProActiveSession]) -> int:
    """A running job of the first user, which the second attacks."""
    victim = sessions[0]
    job = victim.submit(SLEEPER, who=None)
    return job


def test_another_users_job_is_out_of_reach(sessions: list[ProActiveSession], victim_job: int) -> None:
    victim, attacker = sessions
    base = f"/rest/scheduler/jobs/{victim_job}"
    for method, path in [
        ("GET", ""),
        ("GET", "/info"),
        ("GET", "/result"),
        ("GET", "/tasks/Nap/result/log/all"),
        ("GET", "/log/full"),
        ("GET", "/resubmit"),
        ("PUT", "/kill"),
        ("PUT", "/pause"),
        ("PUT", "/tasks/Nap/kill"),
        ("PUT", "/priority/byname/LOW"),
        ("DELETE", ""),
    ]:
        answer = attacker.client.request(method, base + path)
        error_of(answer, 403, "PermissionRestException")
    info = victim.client.get(f"{base}/info").json()
    assert info["status"] in ("PENDING", "RUNNING") and info["priority"] == "NORMAL"  # nothing changed
    assert attacker.client.get("/rest/scheduler/jobs").json()["list"] == []  # not even listed
    listed = attacker.client.get("/rest/scheduler/revisionjobsinfo", params={"userName": victim.name})
    assert listed.json() == {"map": {"0": []}, "size": 0}
    victim.client.put(f"{base}/kill").raise_for_status()


@pytest.mark.parametrize("session_id", ["forged", "", "x" * 5000, "' OR 1=1 --"])
def test_a_forged_session_is_not_connected(server: LiveServer, victim_job: int, session_id: str) -> None:
    headers = {"sessionid": session_id} if session_id else {}
    answer = httpx.put(f"{server.url}/rest/scheduler/jobs/{victim_job}/kill", headers=headers)
    message = error_of(answer, 401, "NotConnectedRestException")
    assert message == "You are not connected to the scheduler, you should log on first"
    connected = httpx.get(f"{server.url}/rest/common/connected", headers=headers)
    assert connected.status_code == 200 and connected.json() is False


def test_a_session_ends_at_logout(server: LiveServer, sessions: list[ProActiveSession]) -> None:
    name = sessions[1].name
    session_id = proactive_login(server, name)
    headers = {"sessionid": session_id}
    assert httpx.get(f"{server.url}/rest/common/currentuser", headers=headers).text == name
    assert httpx.put(f"{server.url}/rest/common/logout", headers=headers).status_code == 204
    error_of(
        httpx.get(f"{server.url}/rest/scheduler/jobs", headers=headers), 401, "NotConnectedRestException"
    )
    assert httpx.get(f"{server.url}/rest/scheduler/isconnected", headers=headers).json() is False
    # the same session works on runyard's own API, and ends there too
    assert httpx.get(f"{server.api}/me", headers=headers).status_code == 401


def test_renewing_a_session_keeps_a_live_one(server: LiveServer, sessions: list[ProActiveSession]) -> None:
    session = sessions[1]
    kept = httpx.put(f"{server.url}/rest/scheduler/session", headers={"sessionid": session.session_id})
    assert kept.status_code == 200 and kept.text == session.session_id
    fresh = httpx.put(
        f"{server.url}/rest/scheduler/session",
        headers={"sessionid": "expired"},
        data={"username": session.name, "password": "correct horse battery"},
    )
    assert fresh.status_code == 200 and fresh.text not in ("", session.session_id)


def test_a_credential_file_is_refused_with_the_reason(server: LiveServer) -> None:
    answer = httpx.post(f"{server.url}/rest/common/login", files={"credential": ("cred.enc", b"\x00RSA")})
    assert "credential files" in error_of(answer, 404, "LoginException")


def test_bad_submissions_leave_no_job(sessions: list[ProActiveSession]) -> None:
    session = sessions[1]
    before = session.client.get("/rest/scheduler/jobs").json()["size"]
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/rest/scheduler/submit", {"files": {"file": ("job.xml", "<job", "application/xml")}}),
        ("/rest/scheduler/submit", {"files": {"variables": (None, '{"A": "1"}', "application/json")}}),
        (
            "/rest/scheduler/submit",
            {
                "files": {
                    "file": ("job.xml", HELLO, "application/xml"),
                    "variables": (None, "[1]", "text/plain"),
                }
            },
        ),
        ("/rest/scheduler/submit;novalue", {"files": {"file": ("job.xml", HELLO, "application/xml")}}),
        ("/rest/scheduler/submit", {"files": {"file": ("job.xml", b"\xff\xfe<job/>", "application/xml")}}),
        ("/rest/scheduler/jobs", {"headers": {"link": "http://169.254.169.254/latest/meta-data"}}),
        ("/rest/scheduler/jobs", {"headers": {"link": "file:///etc/passwd"}}),
        ("/rest/scheduler/jobs", {}),
    ]
    for path, options in cases:
        answer = session.client.post(path, **options)
        error_of(answer, 400, "JobCreationRestException")
    assert session.client.get("/rest/scheduler/jobs").json()["size"] == before


def test_unknown_jobs_tasks_and_paths(sessions: list[ProActiveSession]) -> None:
    client = sessions[1].client
    for job_id in ("0", "abc", "99999999999999999999", "-1"):
        error_of(client.get(f"/rest/scheduler/jobs/{job_id}"), 404, "UnknownJobRestException")
    error_of(client.put("/rest/scheduler/jobs/424242/kill"), 404, "UnknownJobRestException")
    error_of(client.get("/rest/scheduler/nothing/here"), 404, "NotFoundException")
    error_of(
        client.get("/rest/scheduler/revisionjobsinfo", params={"status": "Sleepy"}),
        400,
        "IllegalArgumentException",
    )
    error_of(
        client.get("/rest/scheduler/jobsinfo", params={"limit": "many"}), 400, "IllegalArgumentException"
    )


def test_submitting_from_this_servers_catalog(server: LiveServer, sessions: list[ProActiveSession]) -> None:
    session = sessions[1]
    link = f"{server.url}/catalog/buckets/basic-examples/resources/Hello/raw"
    answer = session.client.post("/rest/scheduler/jobs/body", headers={"link": link}, json={})
    assert answer.status_code == 200, answer.text
    assert session.wait(answer.json()["id"])["status"] == "FINISHED"
    private = f"{server.url}/catalog/buckets/no-such-bucket/resources/Hello/raw"
    error_of(session.client.post("/rest/scheduler/jobs", headers={"link": private}), 404, "NotFoundException")


def test_data_space_paths_stay_inside(server: LiveServer, sessions: list[ProActiveSession]) -> None:
    owner, other = sessions
    assert owner.client.put("/rest/data/user/notes/a.txt", content=b"mine").status_code == 201
    assert owner.client.get("/rest/data/user/notes/a.txt").content == b"mine"
    error_of(other.client.get("/rest/data/user/notes/a.txt"), 404, "NotFoundException")  # their own space
    for path in ("../" + owner.name + "/notes/a.txt", "notes/../../x", "/etc/passwd", "a\\b"):
        answer = other.client.put(f"/rest/data/user/{path}", content=b"x")
        assert answer.status_code in (400, 404), answer.text
        assert set(answer.json()) == {"httpErrorCode", "errorMessage", "stackTrace", "exceptionClass"}
    # a link a task could leave in a user space is never followed, for reading or writing
    notes = server.data_dir / "spaces" / "user" / owner.name / "notes"
    os.symlink("/etc", notes / "escape")
    error_of(owner.client.get("/rest/data/user/notes/escape/hostname"), 404, "NotFoundException")
    error_of(
        owner.client.put("/rest/data/user/notes/escape/evil", content=b"x"), 400, "IllegalArgumentException"
    )
    assert not os.path.exists("/etc/evil")
    etc = sorted(os.listdir("/etc"))
    assert owner.client.delete("/rest/data/user/notes").status_code == 204  # the link goes, not /etc
    assert sorted(os.listdir("/etc")) == etc and not notes.exists()


TASK_CALLING_REST = """<?xml version="1.0" encoding="UTF-8"?>
<job xmlns="urn:proactive:jobdescriptor:3.14" name="Caller">
  <taskFlow>
    <task name="Call"><scriptExecutable><script><code language="cpython">
import os, urllib.error, urllib.request
base = os.environ["RUNYARD_URL"].removesuffix("/").removesuffix("/api/v1")
answers = []
for path in ("/rest/scheduler/jobs", "/rest/data/user?comp=list", "/rest/common/currentuser"):
    request = urllib.request.Request(base + path, headers={"sessionid": os.environ["RUNYARD_TOKEN"]})
    try:
        answers.append(urllib.request.urlopen(request).status)
    except urllib.error.HTTPError as error:
        answers.append(error.code)
result = answers
</code></script></scriptExecutable></task>
  </taskFlow>
</job>"""


def test_a_job_token_reaches_no_proactive_route(sessions: list[ProActiveSession]) -> None:
    """Tasks hold a job token: it acts on /api/v1 routes opened to tasks, never on ProActive's."""
    session = sessions[0]
    job = session.submit(TASK_CALLING_REST, who=None)
    assert session.wait(job)["status"] == "FINISHED"
    value = session.client.get(f"/rest/scheduler/jobs/{job}/tasks/Call/result/value").text
    assert value == "[403, 403, 403]"
