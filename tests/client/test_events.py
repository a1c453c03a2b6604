"""The event stream, sync and async: one job's (ending with it) and every visible job's."""

from __future__ import annotations

import asyncio

import pytest

from client.helpers import greeting, sleeper
from runyard.client import ApiError, AsyncClient, Client, WaitTimeout
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
    assert {e["job_id"] for e in seen} == {job_id}
    assert ("After", "FINISHED") in [(e["task"], e["status"]) for e in seen]
    assert lines == ["after"]
    assert outcome == ("FINISHED", 403)
