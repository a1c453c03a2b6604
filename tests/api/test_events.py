"""The event stream: every status change of a user's jobs, pushed as server-sent events."""

from __future__ import annotations

import json
import threading
from typing import Any

from api.helpers import EXAMPLES
from support.server import LiveServer


def _collect(
    client: Any, path: str, events: list[dict[str, Any]], ready: threading.Event, until: int
) -> None:
    with client.stream("GET", path, timeout=60) as stream:
        for line in stream.iter_lines():
            if line == ": subscribed":
                ready.set()
            elif line.startswith("data:"):
                events.append(json.loads(line[5:]))
                finished = [e for e in events if e["kind"] == "job" and e["status"] == "FINISHED"]
                if len(finished) >= until:
                    return


def test_events_of_own_jobs_are_pushed_in_order(server: LiveServer) -> None:
    _, token = server.new_user()
    _, other_token = server.new_user()
    events: list[dict[str, Any]] = []
    ready = threading.Event()
    with server.client(token) as client, server.client(other_token) as other:
        listener = threading.Thread(target=_collect, args=(client, "/events", events, ready, 1))
        listener.start()
        assert ready.wait(10)
        other.post("/jobs", json={"workflow": (EXAMPLES / "hello.yaml").read_text()})  # not for us
        job_id = client.post("/jobs", json={"workflow": (EXAMPLES / "hello.yaml").read_text()}).json()["id"]
        listener.join(60)
    nodes = [e["info"] for e in events if e["kind"] == "node"]
    events = [e for e in events if e["kind"] in ("job", "task")]
    assert {e["job_id"] for e in events} == {job_id}
    assert {n["job_id"] for n in nodes} <= {job_id, None}  # the other user's job is not named
    statuses = [(e["task"], e["status"]) for e in events]
    assert statuses.index(("Greet", "RUNNING")) < statuses.index(("Greet", "FINISHED"))
    assert statuses.index(("Greet", "FINISHED")) < statuses.index(("Shout", "RUNNING"))
    assert statuses[-1] == (None, "FINISHED")
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


def test_admins_get_everyones_events(server: LiveServer) -> None:
    _, token = server.new_user()
    events: list[dict[str, Any]] = []
    ready = threading.Event()
    with server.client(server.admin_token) as admin, server.client(token) as client:
        listener = threading.Thread(target=_collect, args=(admin, "/events", events, ready, 1))
        listener.start()
        assert ready.wait(10)
        job_id = client.post("/jobs", json={"workflow": (EXAMPLES / "hello.yaml").read_text()}).json()["id"]
        listener.join(60)
    assert job_id in {e.get("job_id") for e in events}


def test_job_stream_ends_with_the_job(server: LiveServer) -> None:
    _, token = server.new_user()
    with server.client(token) as client:
        job_id = client.post("/jobs", json={"workflow": (EXAMPLES / "hello.yaml").read_text()}).json()["id"]
        with client.stream("GET", f"/jobs/{job_id}/events", timeout=60) as stream:
            data = [json.loads(line[5:]) for line in stream.iter_lines() if line.startswith("data:")]
        assert data[-1]["kind"] == "job" and data[-1]["status"] == "FINISHED"
        # Once ended, the stream answers at once with the final status.
        with client.stream("GET", f"/jobs/{job_id}/events", timeout=10) as stream:
            again = [json.loads(line[5:]) for line in stream.iter_lines() if line.startswith("data:")]
        assert again == [{"id": 0, "kind": "job", "job_id": job_id, "task": None, "status": "FINISHED"}]
