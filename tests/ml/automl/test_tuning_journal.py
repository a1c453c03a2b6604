"""The tuning journal route: only the job's own token appends, in order (409 otherwise), the owner reads,
bounds hold, and the entries go with their job; on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from support.server import LiveServer, backend_server

#: Leaks its job token as the result of Leak, then holds the job alive.
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


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with backend_server(request, tmp_path_factory.mktemp("journal"), nodes=4) as started:
        yield started


def _held(api: httpx.Client) -> tuple[int, str]:
    """A live job of the caller's and its job token."""
    submitted = api.post("/jobs", json={"workflow": HOLDER})
    assert submitted.status_code == 201, submitted.text
    job_id: int = submitted.json()["id"]
    deadline = time.monotonic() + 60
    while (answer := api.get(f"/jobs/{job_id}/tasks/Leak/result").json())["status"] != "FINISHED":
        assert time.monotonic() < deadline, answer
        time.sleep(0.05)
    return job_id, answer["value"]


def test_only_the_jobs_own_token_appends_in_order_and_the_owner_reads(server: LiveServer) -> None:
    """Two held jobs serve every check: jobs holding nodes are what this test costs."""
    _, token = server.new_user()
    _, other = server.new_user()
    with server.client(token) as owner, server.client(other) as stranger:
        job_id, job_token = _held(owner)
        sibling, sibling_token = _held(owner)
        path = f"/jobs/{job_id}/tuning-journal"
        entries = [{"op_code": 0, "worker_id": "w", "n": i} for i in range(3)]
        try:
            with server.client(job_token) as task, server.client(sibling_token) as other_task:
                assert task.post(path, json={"start": 0, "entries": entries[:2]}).json()["length"] == 2
                stale = task.post(path, json={"start": 1, "entries": entries[2:]})
                assert stale.status_code == 409, stale.text
                assert task.post(path, json={"start": 2, "entries": entries[2:]}).json()["length"] == 3
                assert task.get(path, params={"start": 1}).json() == {"entries": entries[1:], "length": 3}
                # Neither the owner's session nor another job of hers writes it.
                for writer in (owner, other_task):
                    refused = writer.post(path, json={"start": 3, "entries": entries})
                    assert refused.status_code == 403, refused.text
                assert other_task.get(path).status_code == 403  # not its job: a token reaches its own
                assert other_task.get(f"/jobs/{sibling}/tuning-journal").json()["length"] == 0
                too_many = task.post(path, json={"start": 3, "entries": [{}] * 1001})
                assert too_many.status_code in (400, 422), too_many.text
                too_large = task.post(path, json={"start": 3, "entries": [{"x": "a" * 70_000}]})
                assert too_large.status_code == 400, too_large.text
                assert "larger than 65536 bytes" in too_large.json()["message"]
                not_objects = task.post(path, json={"start": 3, "entries": [1]})
                assert not_objects.status_code in (400, 422), not_objects.text
            assert owner.get(path).json()["entries"] == entries
            assert stranger.get(path).status_code == 403
            with server.client(server.admin_token) as admin:
                assert admin.get(path).json()["length"] == 3
        finally:
            owner.post(f"/jobs/{job_id}/kill")
            owner.post(f"/jobs/{sibling}/kill")
        assert owner.delete(f"/jobs/{job_id}").status_code == 204
        assert owner.get(path).status_code == 404
    with server.client(
        server.admin_token
    ) as admin:  # the rows went with the job: a job reusing its id has none
        reused = admin.post(
            "/jobs", json={"workflow": "name: Reused\ntasks:\n  T:\n    script: {cpython: pass}\n"}
        )
        if reused.json()["id"] == job_id:
            assert admin.get(path).json() == {"entries": [], "length": 0}
