"""The event stream, sync and async: one job's (ending with it) and every visible job's."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Generator, Iterator
from typing import Any

import httpx
import pytest

from client.helpers import greeting, script_task, sleeper, until
from runyard.client import ApiError, AsyncClient, Client, WaitTimeout, Workflow, transport
from runyard.client.documents import Event
from support.server import LiveServer


def test_a_jobs_events_end_with_its_final_status(alice: Client) -> None:
    job_id = alice.submit(sleeper(0.5))
    events = list(alice.events(job_id))
    assert events[-1]["kind"] == "job" and events[-1]["status"] == "FINISHED"
    finished = [e["task"] for e in events if e["kind"] == "task" and e["status"] == "FINISHED"]
    assert finished == ["Sleep", "After"]
    assert all(e["job_id"] == job_id for e in events)
    # Once the job has ended, its stream says so at once.
    assert list(alice.events(job_id)) == [
        {"id": 0, "kind": "job", "job_id": job_id, "task": None, "status": "FINISHED"}
    ]


def test_streams_of_jobs_one_may_not_see_are_refused(alice: Client, admin: Client) -> None:
    job_id = admin.submit(greeting())
    for stream in (alice.events(job_id), alice.follow_logs(job_id)):
        with pytest.raises(ApiError) as caught:
            next(iter(stream))
        assert caught.value.status == 403
    with pytest.raises(ApiError) as unknown:
        list(alice.events(10**9))
    assert unknown.value.status == 404
    admin.wait_for_job(job_id, timeout=30)


def test_wait_for_job_gives_up_after_its_timeout(alice: Client) -> None:
    job_id = alice.submit(sleeper(30))
    with pytest.raises(WaitTimeout):
        alice.wait_for_job(job_id, timeout=0.5)
    alice.kill_job(job_id)


def test_wait_for_job_with_no_time_left_answers_an_ended_job(alice: Client) -> None:
    job_id = alice.submit(greeting())
    alice.wait_for_job(job_id, timeout=30)
    assert alice.wait_for_job(job_id, timeout=0)["status"] == "FINISHED"


class _Counted(httpx.HTTPTransport):
    """Loopback HTTP, keeping the method and path of each request sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        return super().handle_request(request)


class _AsyncCounted(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        return await super().handle_async_request(request)


def test_wait_for_job_is_one_request_held_until_the_job_ends(server: LiveServer, alice: Client) -> None:
    """Sync and async: the server answers the final state as the job ends; no stream, no second read."""
    job_id = alice.submit(sleeper(0.5))
    counted = _Counted()
    with Client(server.url, alice.token, transport=counted) as client:
        assert client.wait_for_job(job_id, timeout=30)["status"] == "FINISHED"
    assert counted.sent == [f"GET /api/v1/jobs/{job_id}"]

    async def waited() -> tuple[str, list[str]]:
        other = alice.submit(sleeper(0.5))
        transport = _AsyncCounted()
        async with AsyncClient(server.url, alice.token, transport=transport) as client:
            job = await client.wait_for_job(other, timeout=30)
        return job["status"], [sent.replace(str(other), "ID") for sent in transport.sent]

    assert asyncio.run(waited()) == ("FINISHED", ["GET /api/v1/jobs/ID"])


def test_wait_for_job_outlasts_a_short_answer_timeout(server: LiveServer, alice: Client) -> None:
    """The server holds the request longer than the client's 1 s timeout: its read waits as long."""
    job_id = alice.submit(sleeper(2))
    with Client(server.url, alice.token, timeout=1) as client:
        assert client.wait_for_job(job_id, timeout=30)["status"] == "FINISHED"


def test_a_paused_job_has_not_ended_for_wait_for_job(alice: Client) -> None:
    job_id = alice.submit(sleeper(30))
    try:
        alice.pause_job(job_id)
        with pytest.raises(WaitTimeout):
            alice.wait_for_job(job_id, timeout=0.5)
        with pytest.raises(WaitTimeout):
            alice.wait_for_job(job_id, timeout=0)
    finally:
        alice.kill_job(job_id)
    assert alice.wait_for_job(job_id, timeout=10)["status"] == "KILLED"


def test_async_client_follows_every_visible_job(server: LiveServer, admin: Client) -> None:
    _, token = server.new_user()

    async def scenario() -> tuple[list[Event], int, list[str], object]:
        async with AsyncClient(server.url, token) as client:
            seen: list[Event] = []

            async def collect(stream_ready: asyncio.Event) -> None:
                stream = client.events()
                stream_ready.set()
                async for event in stream:
                    seen.append(event)
                    if event["kind"] == "job" and event["status"] == "FINISHED":
                        return

            ready = asyncio.Event()
            collector = asyncio.create_task(collect(ready))
            await ready.wait()
            others = admin.submit(greeting())  # another user's job: not in this user's stream
            admin.wait_for_job(others, timeout=30)
            job_id = await client.submit(sleeper(1))
            await asyncio.wait_for(collector, 30)
            job = await client.wait_for_job(job_id, timeout=30)
            lines = [line async for line in client.follow_logs(job_id, "After")]
            with pytest.raises(ApiError) as caught:
                await client.get_job(others)
            return seen, job_id, lines, (job["status"], caught.value.status)

    seen, job_id, lines, outcome = asyncio.run(scenario())
    assert {e["job_id"] for e in seen if e["kind"] in ("job", "task")} == {job_id}
    assert ("After", "FINISHED") in [(e.get("task"), e.get("status")) for e in seen]
    assert lines == ["after"]
    assert outcome == ("FINISHED", 403)


def _printer(lines: int) -> Workflow:
    """Task ``Print`` prints ``line N`` for N in 1..lines, 0.1 s apart after 1 s; ``After``: ``after``."""
    code = f"sleep 1; for i in $(seq 1 {lines}); do echo line $i; sleep 0.1; done"
    return Workflow(
        "Printer",
        tasks=[
            script_task("Print", "bash", code),
            script_task("After", "bash", "echo after", depends=["Print"]),
        ],
    )


def test_log_events_carry_the_output_as_it_is_printed_to_its_owner_only(
    alice: Client, server: LiveServer
) -> None:
    _, token = server.new_user()
    with Client(server.url, token) as bob:
        job_id = alice.submit(_printer(8))
        events = list(alice.events(job_id, logs=True))
        with pytest.raises(ApiError) as caught:  # another user may not even ask for them
            next(iter(bob.events(job_id, logs=True)))
        assert caught.value.status == 403
        with pytest.raises(ApiError) as general:
            next(_stream(server, token, f"/events?job_id={job_id}&logs=true"))
        assert general.value.status == 403
    logs = [e for e in events if e["kind"] == "log"]
    # From the subscription on (the task waits 1 s first, so all of it here): the rest is in its log.
    printed = "".join(e["text"] for e in logs if e["task"] == "Print")
    whole = "".join(f"line {i}\n" for i in range(1, 9))
    assert printed == whole[logs[0]["offset"] :] and "line 5\nline 6\nline 7\nline 8\n" in printed
    assert len([e for e in logs if e["task"] == "Print"]) > 1  # as it was printed, not at the end
    offsets = [(e["offset"], len(e["text"])) for e in logs if e["task"] == "Print"]
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(offsets))
    assert [e["text"] for e in logs if e["task"] == "After"] == ["after\n"]
    order = [(e["kind"], e["task"], e.get("status")) for e in events]
    assert order.index(("log", "After", None)) < order.index(("task", "After", "FINISHED"))  # before the end
    assert not [e for e in alice.events(job_id) if e["kind"] == "log"]  # only when asked for


def _stream(server: LiveServer, token: str, path: str, **headers: str) -> Generator[str]:
    """The lines of an event stream (a 403 as ``ApiError``)."""
    with server.client(token) as client, client.stream("GET", path, headers=headers, timeout=30) as stream:
        if stream.status_code != 200:
            stream.read()
            raise ApiError(stream.status_code, "http_error", stream.text)
        yield from stream.iter_lines()


def _position(lines: Iterator[str]) -> str:
    """The id the subscribed comment gives: where the stream starts."""
    return next(line[4:] for line in lines if line.startswith("id: "))


def _read(lines: Iterator[str], stop: Callable[[dict[str, Any]], bool]) -> list[tuple[str, Any]]:
    """The events as ``(id, data)``, up to the first one ``stop`` holds for."""
    events, event_id = [], ""
    for line in lines:
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            events.append((event_id, json.loads(line[6:])))
            if stop(events[-1][1]):
                break
    return events


def test_a_stream_resumed_with_last_event_id_gets_exactly_what_it_missed(
    alice: Client, server: LiveServer
) -> None:
    token = alice.token
    assert token is not None
    first = _stream(server, token, "/events")
    start = _position(first)
    job_id = alice.submit(greeting())
    seen = _read(first, lambda e: e["kind"] == "task")  # up to the first task event, then the drop
    first.close()
    alice.wait_for_job(job_id, timeout=30)

    def ended(event: dict[str, Any]) -> bool:
        return bool(event["kind"] == "job" and event["job_id"] == job_id and event["status"] == "FINISHED")

    whole = _read(_stream(server, token, f"/events?last_event_id={start}"), ended)
    resumed = _stream(server, token, "/events", **{"Last-Event-ID": seen[-1][0]})
    assert _position(resumed) == seen[-1][0]
    rest = _read(resumed, ended)
    assert whole[: len(seen)] == seen
    assert whole[len(seen) :] == rest  # no gap, no repeat
    numbers = [int(i.rpartition("-")[2]) for i, _ in whole]
    assert numbers == sorted(set(numbers)) and [e["id"] for _, e in whole] == numbers
    reset = _read(_stream(server, token, "/events", **{"Last-Event-ID": "0badc0de-1"}), lambda e: True)
    assert reset[0][1]["kind"] == "reset"


def test_a_dropped_stream_is_opened_again_after_its_last_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "RECONNECT_SECONDS", 0.0)
    asked: list[str | None] = []
    running = {"id": 2, "kind": "task", "job_id": 5, "task": "A", "status": "RUNNING"}
    finished = {"id": 3, "kind": "job", "job_id": 5, "task": None, "status": "FINISHED"}

    def dropped() -> Iterator[bytes]:
        yield f": subscribed\nid: e-1\n\nid: e-2\ndata: {json.dumps(running)}\n\n".encode()
        raise httpx.RemoteProtocolError("peer closed connection")

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("Last-Event-ID"))
        if len(asked) == 1:
            return httpx.Response(200, content=dropped())
        return httpx.Response(200, content=f"id: e-3\ndata: {json.dumps(finished)}\n\n".encode())

    with Client("http://runyard.test", "token", transport=httpx.MockTransport(answer)) as client:
        events = list(client.events(5))
    assert events == [running, finished]
    assert asked == [None, "e-2"]  # and not again once the job ended


def test_nodes_name_a_running_job_to_its_owner_and_admins_only(
    alice: Client, admin: Client, server: LiveServer
) -> None:
    _, token = server.new_user()
    job_id = alice.submit(sleeper(2))
    until(alice, job_id, lambda job: any(t["status"] == "RUNNING" for t in job["tasks"]))
    with Client(server.url, token) as bob:
        shown = {
            name: [n["job_id"] for n in c.list_nodes()]
            for name, c in (("alice", alice), ("bob", bob), ("admin", admin))
        }
    alice.kill_job(job_id)
    assert job_id in shown["alice"] and job_id in shown["admin"]
    assert job_id not in shown["bob"]
