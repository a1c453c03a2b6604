"""The event hub in-process: who sees which event, and resuming a stream after its last id."""

from __future__ import annotations

import asyncio
from typing import Any

from runyard.api.events import RING_SECONDS, EventHub, Subscription
from runyard.auth import User
from runyard.platform import JobEvent, NodeView

ALICE, BOB, ADMIN = User("alice", "user"), User("bob", "user"), User("root", "admin")


def _node(job_id: int | None, owner: str | None) -> NodeView:
    return NodeView(
        "local-1", "local", "h", "u", "busy", False, None, None, (), job_id, "Task" if job_id else None, owner
    )


def _drain(subscription: Subscription) -> list[dict[str, Any]]:
    got = []
    while not subscription._subscriber.queue.empty():
        event = subscription._subscriber.queue.get_nowait()
        assert event is not None
        got.append(event)
    return got


def _publish_one_of_each(hub: EventHub) -> None:
    hub.publish(JobEvent(7, "RUNNING", "Task", "local-1", None, "alice", 1))
    hub.publish_log("alice", 7, "Task", 1, 0, "hello\n")
    hub.publish_node(_node(7, "alice"))
    hub.publish_instance("alice", {"id": 3, "status": "RUNNING"})
    hub.publish_notification("alice", {"id": 1})


def test_each_user_sees_only_what_is_theirs() -> None:
    hub = EventHub()
    seen: dict[str, list[dict[str, Any]]] = {}

    async def main() -> None:
        streams = {
            "alice": hub.subscribe(ALICE),
            "alice-job": hub.subscribe(ALICE, 7, logs=True),
            "alice-job-quiet": hub.subscribe(ALICE, 7),
            "bob": hub.subscribe(BOB),
            "bob-job": hub.subscribe(BOB, 7, logs=True),  # the route refuses it; the hub shows nothing
            "admin": hub.subscribe(ADMIN),
            "admin-job": hub.subscribe(ADMIN, 7, logs=True),
        }
        _publish_one_of_each(hub)
        await asyncio.sleep(0.01)
        seen.update({name: _drain(s) for name, s in streams.items()})

    asyncio.run(main())
    kinds = {name: [e["kind"] for e in events] for name, events in seen.items()}
    assert kinds == {
        "alice": ["task", "node", "service_instance", "notification"],
        "alice-job": ["task", "log"],
        "alice-job-quiet": ["task"],
        "bob": ["node"],
        "bob-job": [],
        "admin": ["task", "node", "service_instance"],  # notifications are their owner's only
        "admin-job": ["task", "log"],
    }
    assert seen["bob"][0]["info"]["job_id"] is None and seen["bob"][0]["info"]["task"] is None
    assert seen["alice"][1]["info"]["job_id"] == 7 and seen["admin"][1]["info"]["task"] == "Task"
    assert "owner" not in seen["alice"][1]["info"]
    ids = [e["id"] for e in seen["alice"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_stream_resumed_after_an_id_gets_exactly_the_events_after_it() -> None:
    hub = EventHub()

    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
        first = hub.subscribe(ALICE)
        _publish_one_of_each(hub)
        await asyncio.sleep(0.01)
        before = _drain(first)
        last = hub.event_id(before[1]["id"])  # the connection dropped after the second event
        _publish_one_of_each(hub)  # while away
        resumed = hub.subscribe(ALICE, last_event_id=last)
        hub.publish_instance("alice", {"id": 3, "status": "FINISHED"})  # live again
        await asyncio.sleep(0.01)
        return before, _drain(resumed), resumed.event_id()

    before, after, position = asyncio.run(main())
    assert [e["id"] for e in before] == [1, 3, 4, 5]  # no log event (2) on the general stream
    assert [e["id"] for e in after] == [4, 5, 6, 8, 9, 10, 11]
    assert after[-1]["instance"]["status"] == "FINISHED"
    assert position.endswith("-3")  # where the subscribed comment says the stream is


def test_resuming_after_someone_elses_id_shows_nothing_of_theirs() -> None:
    hub = EventHub()

    async def main() -> list[dict[str, Any]]:
        _publish_one_of_each(hub)  # alice's
        resumed = hub.subscribe(BOB, last_event_id=hub.event_id(0))
        job = hub.subscribe(BOB, 7, hub.event_id(0), logs=True)
        await asyncio.sleep(0.01)
        return _drain(resumed) + _drain(job)

    got = asyncio.run(main())
    assert [e["kind"] for e in got] == ["node"] and got[0]["info"]["job_id"] is None


def test_an_id_no_longer_kept_or_of_another_process_gives_a_reset() -> None:
    now = [0.0]
    hub = EventHub(clock=lambda: now[0])

    async def main() -> dict[str, list[dict[str, Any]]]:
        hub.publish_instance("alice", {"id": 1})
        hub.publish_instance("alice", {"id": 2})
        old = hub.event_id(1)  # event 2, after it, is no longer kept once 3 comes
        now[0] += RING_SECONDS + 1
        hub.publish_instance("alice", {"id": 3})
        streams = {
            "too old": hub.subscribe(ALICE, last_event_id=old),
            "other epoch": hub.subscribe(ALICE, last_event_id="0badc0de-2"),
            "garbage": hub.subscribe(ALICE, last_event_id="x"),
            "future": hub.subscribe(ALICE, last_event_id=hub.event_id(99)),
            "kept": hub.subscribe(ALICE, last_event_id=hub.event_id(2)),
        }
        await asyncio.sleep(0.01)
        return {name: _drain(s) for name, s in streams.items()}

    got = asyncio.run(main())
    for name in ("too old", "other epoch", "garbage", "future"):
        assert got[name] == [{"id": 3, "kind": "reset"}], name
    assert [e["instance"]["id"] for e in got["kept"]] == [3]  # 2 is forgotten, but it was seen
