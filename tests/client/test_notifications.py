"""Notifications through the SDK, sync and async: raise, list, read, delete; the event stream."""

from __future__ import annotations

import asyncio

import pytest

from runyard.client import ApiError, AsyncClient, Client
from runyard.client.documents import Event, NotificationList
from support.server import LiveServer


def test_raise_list_read_delete(alice: Client, admin: Client) -> None:
    first = alice.create_notification("drift", "Drift on m1", "ADWIN", {"feature": "x"})
    second = alice.create_notification("note", "Second")
    name = alice.whoami()["name"]
    assert (first["owner"], first["source"], first["details"]) == (name, f"user:{name}", {"feature": "x"})
    listed = alice.list_notifications()
    assert [n["id"] for n in listed["notifications"][:2]] == [second["id"], first["id"]]
    assert listed["unread"] >= 2
    assert alice.list_notifications(after_id=first["id"])["notifications"] == [second]
    assert alice.list_notifications(before_id=second["id"], limit=1)["notifications"] == [first]
    assert alice.mark_notification_read(first["id"])["read_at"] is not None
    assert first["id"] not in [n["id"] for n in alice.list_notifications(unread=True)["notifications"]]
    for call in (admin.mark_notification_read, admin.delete_notification):
        with pytest.raises(ApiError) as other:
            call(first["id"])
        assert other.value.status == 404
    alice.delete_notification(first["id"])
    with pytest.raises(ApiError) as gone:
        alice.delete_notification(first["id"])
    assert gone.value.status == 404
    with pytest.raises(ApiError) as no_instance:
        alice.create_notification_token(2_000_000_000)
    assert no_instance.value.status == 404


def test_async_client_hears_its_notifications(server: LiveServer) -> None:
    _, token = server.new_user()

    async def scenario() -> tuple[Event, NotificationList]:
        async with AsyncClient(server.url, token) as client:

            async def first_notification() -> Event:
                async for event in client.events(subscribed=True):
                    if event["kind"] == "subscribed":
                        subscribed.set()
                    elif event["kind"] == "notification":
                        return event
                raise AssertionError("the stream ended")

            subscribed = asyncio.Event()
            listening = asyncio.create_task(first_notification())
            await asyncio.wait_for(subscribed.wait(), 10)
            await client.create_notification("drift", "Heard")
            event = await asyncio.wait_for(listening, 30)
            return event, await client.list_notifications(limit=1)

    event, listed = asyncio.run(scenario())
    assert event["notification"] == listed["notifications"][0]
    assert event["notification"]["title"] == "Heard" and listed["unread"] == 1
