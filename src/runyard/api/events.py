"""Fan-out of job and task events from the scheduler thread, and of notifications, to streaming HTTP clients.

The scheduler calls :meth:`EventHub.publish` after each stored change, the notifications route
:meth:`EventHub.publish_notification` after storing one; each subscriber has its own
bounded queue on the event loop. A subscriber that falls too far behind is dropped (its stream
ends) rather than making the scheduler wait or the server grow without bound.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from runyard.auth import User
from runyard.model import JobStatus
from runyard.scheduler.loop import JobEvent

QUEUE_SIZE = 10_000
KEEPALIVE_SECONDS = 15.0


@dataclass(eq=False)  # identity: kept in a set
class _Subscriber:
    user: User
    job_id: int | None
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any] | None]
    dropped: bool = False

    def wants(self, event: JobEvent) -> bool:
        if self.job_id is not None and event.job_id != self.job_id:
            return False
        return self.user.is_admin or event.owner == self.user.name


class EventHub:
    def __init__(self) -> None:
        self._subscribers: set[_Subscriber] = set()
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    def publish(self, event: JobEvent) -> None:
        """Called from the scheduler thread: never blocks."""
        document = {
            "id": next(self._numbers),
            "kind": "task" if event.task is not None else "job",
            "job_id": event.job_id,
            "task": event.task,
            "status": event.status,
            "node": event.node,
            "owner": event.owner,
        }
        self._fan_out(document, lambda subscriber: subscriber.wants(event))

    def publish_notification(self, owner: str, notification: dict[str, Any]) -> None:
        """From any thread: to ``owner``'s streams of every job only (an admin's included, no one else's)."""
        document = {
            "id": next(self._numbers),
            "kind": "notification",
            "owner": owner,
            "notification": notification,
        }
        self._fan_out(
            document, lambda subscriber: subscriber.job_id is None and subscriber.user.name == owner
        )

    def _fan_out(self, document: dict[str, Any], wants: Callable[[_Subscriber], bool]) -> None:
        with self._lock:
            subscribers = [s for s in self._subscribers if wants(s)]
        for subscriber in subscribers:
            subscriber.loop.call_soon_threadsafe(self._deliver, subscriber, document)

    def _deliver(self, subscriber: _Subscriber, document: dict[str, Any]) -> None:
        if subscriber.dropped:
            return
        try:
            subscriber.queue.put_nowait(document)
        except asyncio.QueueFull:
            subscriber.dropped = True
            while not subscriber.queue.empty():  # make room for the end-of-stream mark
                subscriber.queue.get_nowait()
            subscriber.queue.put_nowait(None)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        with self._lock:
            subscribers, self._subscribers = self._subscribers, set()
        for subscriber in subscribers:
            subscriber.loop.call_soon_threadsafe(subscriber.queue.put_nowait, None)

    def subscribe(self, user: User, job_id: int | None = None) -> Subscription:
        """Events ``user`` may see (of one job if ``job_id``) from now on; call from the event loop."""
        subscriber = _Subscriber(user, job_id, asyncio.get_running_loop(), asyncio.Queue(QUEUE_SIZE + 1))
        with self._lock:
            self._subscribers.add(subscriber)
        return Subscription(self, subscriber)

    def _unsubscribe(self, subscriber: _Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)


class Subscription:
    """Use as ``with hub.subscribe(user) as events:`` then ``await events.next(timeout)``."""

    def __init__(self, hub: EventHub, subscriber: _Subscriber) -> None:
        self._hub, self._subscriber = hub, subscriber

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._hub._unsubscribe(self._subscriber)

    async def next(self, timeout: float) -> dict[str, Any] | None:
        """The next event, ``None`` once the stream ended; ``TimeoutError`` if none came in time."""
        return await asyncio.wait_for(self._subscriber.queue.get(), timeout)


async def sse(subscription: Subscription, *, until_job_ends: bool = False) -> AsyncIterator[str]:
    """Server-sent events: ``id``, ``event`` (job, task, notification), ``data`` (JSON); a keep-alive
    comment every 15 s."""
    with subscription:
        yield ": subscribed\n\n"  # sent at once: the client knows it will miss nothing from here
        while True:
            try:
                event = await subscription.next(KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if event is None:
                return
            yield f"id: {event['id']}\nevent: {event['kind']}\ndata: {json.dumps(event)}\n\n"
            if until_job_ends and event["kind"] == "job" and not JobStatus(event["status"]).is_alive:
                return
