"""``GET /jobs/{id}?wait=S``: the job's state once it has ended, or at the bound with its state then."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.helpers import HELLO, wait_for
from runyard.auth.job_tokens import JobTokens
from support.server import LiveServer

SLEEPER = """
name: Sleeper
variables:
  SECONDS: {value: "30", model: "PA:Integer"}
tasks:
  - name: Nap
    script: {language: cpython, code: "import time; time.sleep(int(variables['SECONDS']))"}
"""


@pytest.fixture(scope="module")
def alice(server: LiveServer) -> Iterator[tuple[str, httpx.Client]]:
    name, token = server.new_user()
    with server.client(token) as client:
        yield name, client


def _submit(client: httpx.Client, workflow: str, **variables: str) -> int:
    answer = client.post("/jobs", json={"workflow": workflow, "variables": variables})
    assert answer.status_code == 201, answer.text
    job_id: int = answer.json()["id"]
    return job_id


def _timed_get(client: httpx.Client, path: str, wait: Any) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    answer = client.get(path, params={"wait": wait})
    return answer, time.monotonic() - start


def test_an_ended_job_answers_at_once(alice: tuple[str, httpx.Client]) -> None:
    _, client = alice
    job_id = _submit(client, HELLO)
    wait_for(client, job_id)
    answer, took = _timed_get(client, f"/jobs/{job_id}", 20)
    assert answer.status_code == 200 and took < 2
    assert answer.json() == client.get(f"/jobs/{job_id}").json()
    assert answer.json()["status"] == "FINISHED"


def test_a_running_job_answers_when_it_ends_with_its_final_state(alice: tuple[str, httpx.Client]) -> None:
    _, client = alice
    job_id = _submit(client, SLEEPER, SECONDS="1")
    answer, took = _timed_get(client, f"/jobs/{job_id}", 20)
    job = answer.json()
    assert answer.status_code == 200 and took < 15, (took, job)
    assert job["status"] == "FINISHED" and job["tasks"][0]["status"] == "FINISHED"
    assert job["finished_at"] is not None


def test_the_wait_is_bounded_and_a_paused_job_has_not_ended(alice: tuple[str, httpx.Client]) -> None:
    _, client = alice
    job_id = _submit(client, SLEEPER)
    try:
        answer, took = _timed_get(client, f"/jobs/{job_id}", 0.5)
        assert answer.status_code == 200 and 0.5 <= took < 5
        assert answer.json()["status"] in ("PENDING", "RUNNING")
        assert client.post(f"/jobs/{job_id}/pause").json()["status"] == "PAUSED"
        paused, took = _timed_get(client, f"/jobs/{job_id}", 0.5)
        assert paused.json()["status"] == "PAUSED" and took >= 0.5
        for bad in (-1, 20.5, 1e9, "nan", "soon"):
            refused = client.get(f"/jobs/{job_id}", params={"wait": bad})
            assert refused.json()["error"] == "invalid_request", (bad, refused.text)
    finally:
        client.post(f"/jobs/{job_id}/kill")
    killed, _ = _timed_get(client, f"/jobs/{job_id}", 20)
    assert killed.json()["status"] == "KILLED"


def test_another_users_job_and_an_unknown_one_are_refused_without_waiting(
    server: LiveServer, alice: tuple[str, httpx.Client]
) -> None:
    _, client = alice
    _, token = server.new_user()
    with server.client(token) as bob:
        job_id = _submit(bob, SLEEPER)
        try:
            refused, took = _timed_get(client, f"/jobs/{job_id}", 20)
            assert refused.status_code == 403 and took < 2
            unknown, took = _timed_get(client, "/jobs/2147483000", 20)
            assert unknown.status_code == 404 and took < 2
        finally:
            bob.post(f"/jobs/{job_id}/kill")


def test_a_job_token_waits_for_its_owners_jobs_only(
    server: LiveServer, alice: tuple[str, httpx.Client]
) -> None:
    name, client = alice
    holder = _submit(client, SLEEPER)
    _, bob_token = server.new_user()
    with server.client(bob_token) as bob:
        other = _submit(bob, HELLO)  # short: the holder and the child take the two nodes
    token = JobTokens.from_file(server.data_dir / "job-tokens.key").issue(holder, name)
    try:
        with server.client(token) as task:
            child = _submit(task, SLEEPER, SECONDS="1")  # what the AutoML tuner does with each sample
            ended = task.get(f"/jobs/{child}", params={"wait": 20}).json()
            assert ended["status"] == "FINISHED" and ended["parent_id"] == holder
            assert task.get(f"/jobs/{other}", params={"wait": 20}).status_code == 403
    finally:
        client.post(f"/jobs/{holder}/kill")
