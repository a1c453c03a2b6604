"""Fan-out of platform events (jobs, tasks, logs, nodes, service instances, notifications) to streaming
HTTP clients, resumable after a reconnect.

Publishers call the ``publish_*`` methods from any thread, after their change is stored; they never
wait. Every event gets the next number of this process and is kept in a bounded ring (the last
:data:`RING_SIZE` events of the last :data:`RING_SECONDS`); its SSE ``id`` is ``EPOCH-NUMBER``, the epoch
being drawn at start-up. A client reconnecting with that id (``Last-Event-ID``) first gets the events
after it that it may see, then the live ones; when they are no longer all kept, or the id is of another
process, it gets one ``reset`` event instead: it must read the state again.

Each event says who may see it (a function of the user, which may also hide fields: another user's job
on a node) and which streams carry it: a job's stream (``job_id``) carries the job's status and task
events, and its log events when asked for; the general stream everything else the user may see. Each
subscriber has its own bounded queue on the event loop; one too far behind is dropped (its stream ends;
it may resume).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from typing import Any

from runyard.api.log_events import LogFollower
from runyard.api.node_states import node_state
from runyard.auth import User
from runyard.model import JobStatus
from runyard.platform import Platform
from runyard.scheduler.loop import JobEvent, NodeView
from runyard.services.automation import InstanceChange, ServiceAutomation
from runyard.services.proxy import platform_endpoints

QUEUE_SIZE = 10_000
RING_SIZE = 10_000
"""Events kept for clients resuming a stream."""
RING_SECONDS = 300.0
"""How long an event is kept for clients resuming a stream."""
KEEPALIVE_SECONDS = 15.0

Document = dict[str, Any]
Render = Callable[[User], Document | None]
"""What a user sees of an event, ``None`` if nothing."""


@dataclass(frozen=True)
class _Event:
    number: int
    at: float
    job_id: int | None
    general: bool
    """Carried by the general stream (else by the job's stream only)."""
    render: Render
    instance_id: int | None = None
    """The service instance it is about (carried by that instance's stream too)."""


@dataclass(eq=False)  # identity: kept in a set
class _Subscriber:
    user: User
    job_id: int | None
    instance_id: int | None
    logs: bool
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Document | None]
    position: int = 0
    """The number of the last event before those it gets."""
    dropped: bool = False

    def document(self, event: _Event) -> Document | None:
        if self.job_id is not None:
            carried = event.job_id == self.job_id and (event.general or self.logs)
        elif self.instance_id is not None:
            carried = event.instance_id == self.instance_id
        else:
            carried = event.general
        if not carried:
            return None
        document = event.render(self.user)
        return None if document is None else {"id": event.number, **document}


def owner_or_admin(owner: str, document: Document) -> Render:
    return lambda user: document if user.is_admin or user.name == owner else None


def node_document(view: NodeView, user: User) -> Document:
    """The node as ``user`` may see it: the job and task it runs only to their owner and admins."""
    document = asdict(view)
    owner = document.pop("owner")
    document["tokens"] = list(view.tokens)
    document["node_state"] = node_state(view.state)
    if not (user.is_admin or user.name == owner):
        document["job_id"] = document["task"] = None
    return document


def instance_document(change: InstanceChange, proxy_url: str) -> Document:
    """What a service instance event says of it: the fields a list of instances shows (endpoints with the
    proxy's URLs under ``proxy_url``)."""
    instance = change.instance
    if instance is None:
        return {"id": change.instance_id, "removed": True, "changed": list(change.changed)}
    return {
        "id": instance.id,
        "service_id": instance.service_id,
        "bucket": instance.bucket,
        "owner": instance.owner,
        "label": instance.label,
        "status": instance.status,
        "transition": instance.transition,
        "transition_job_id": instance.transition_job_id,
        "error": instance.error,
        "endpoints": platform_endpoints(instance, proxy_url),
        "finished_at": instance.finished_at,
        "removed": False,
        "changed": list(change.changed),
    }


class EventHub:
    """Call :meth:`follow` once to publish what the platform and the automation tell."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.epoch = secrets.token_hex(4)
        """Drawn at start: ids of another process (before a restart) are told apart."""
        self._clock = clock
        self._subscribers: set[_Subscriber] = set()
        self._ring: deque[_Event] = deque()
        self._forgotten = 0  # the highest number no longer kept
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._last = 0
        self._logs = LogFollower(self.publish_log)

    def follow(self, platform: Platform, automation: ServiceAutomation, proxy_url: str) -> None:
        """Publish the platform's job, task, log and node events and the automation's instance events
        (``proxy_url``: the base URL of the origin serving proxied endpoints)."""
        platform.listen(self._logs.heard)  # first: what a task printed last comes before its end
        platform.listen(self.publish)
        platform.listen_nodes(self.publish_node)
        automation.listen(
            lambda change: self.publish_instance(change.owner, instance_document(change, proxy_url))
        )
        self._logs.start()

    def publish(self, event: JobEvent) -> None:
        """A job or task status change (a scheduler listener)."""
        document = {
            "kind": "task" if event.task is not None else "job",
            "job_id": event.job_id,
            "task": event.task,
            "status": event.status,
            "node": event.node,
            "owner": event.owner,
        }
        self._publish(event.job_id, True, owner_or_admin(event.owner, document))

    def publish_signal(self, owner: str, job_id: int, change: Document) -> None:
        """A signal of a job changed (``{"signal": ...}`` or ``{"removed": [names]}``): to its owner and
        admins."""
        document = {"kind": "signal", "job_id": job_id, **change}
        self._publish(job_id, True, owner_or_admin(owner, document))

    def publish_notification(self, owner: str, notification: Document) -> None:
        """To ``owner``'s general streams only (an admin's included, no one else's)."""
        document = {"kind": "notification", "owner": owner, "notification": notification}
        self._publish(None, True, lambda user: document if user.name == owner else None)

    def publish_instance(self, owner: str, instance: Document) -> None:
        """A service instance changed: to its owner and admins."""
        document = {"kind": "service_instance", "instance": instance}
        self._publish(None, True, owner_or_admin(owner, document), instance_id=int(instance["id"]))

    def publish_node(self, view: NodeView) -> None:
        """A node changed: to everyone, its job and task only to their owner and admins."""
        self._publish(
            None, True, lambda user: {"kind": "node", "node": view.name, "info": node_document(view, user)}
        )

    def publish_log(self, owner: str, job_id: int, task: str, execution: int, offset: int, text: str) -> None:
        """Output of a task: to the job's streams of its owner and admins."""
        document = {
            "kind": "log",
            "job_id": job_id,
            "task": task,
            "execution": execution,
            "offset": offset,
            "text": text,
        }
        self._publish(job_id, False, owner_or_admin(owner, document))

    def _publish(
        self, job_id: int | None, general: bool, render: Render, *, instance_id: int | None = None
    ) -> None:
        with self._lock:  # numbering and delivery in one step: every queue gets events in order
            self._last = next(self._numbers)
            event = _Event(self._last, self._clock(), job_id, general, render, instance_id)
            self._ring.append(event)
            self._forget_old()
            for subscriber in self._subscribers:
                document = subscriber.document(event)
                if document is not None:
                    subscriber.loop.call_soon_threadsafe(self._deliver, subscriber, document)

    def _forget_old(self) -> None:
        too_old = self._clock() - RING_SECONDS
        while self._ring and (len(self._ring) > RING_SIZE or self._ring[0].at < too_old):
            self._forgotten = self._ring.popleft().number

    def _deliver(self, subscriber: _Subscriber, document: Document) -> None:
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
        self._logs.stop()
        with self._lock:
            subscribers, self._subscribers = self._subscribers, set()
        for subscriber in subscribers:
            subscriber.loop.call_soon_threadsafe(subscriber.queue.put_nowait, None)

    def event_id(self, number: int) -> str:
        """The SSE ``id`` of event ``number``."""
        return f"{self.epoch}-{number}"

    def subscribe(
        self,
        user: User,
        job_id: int | None = None,
        last_event_id: str | None = None,
        *,
        logs: bool = False,
        instance_id: int | None = None,
    ) -> Subscription:
        """Events ``user`` may see (of one job if ``job_id``, its output too with ``logs``; of one service
        instance if ``instance_id``) from now on, or after ``last_event_id`` (an SSE id this hub gave);
        call from the event loop."""
        logs = logs and job_id is not None
        queue: asyncio.Queue[Document | None] = asyncio.Queue(QUEUE_SIZE + 1)
        subscriber = _Subscriber(user, job_id, instance_id, logs, asyncio.get_running_loop(), queue)
        if job_id is not None and logs:
            self._logs.follow(job_id)
        with self._lock:
            subscriber.position = self._last
            if last_event_id is not None:
                self._forget_old()
                after = self._resumed_after(last_event_id)
                if after is None:
                    subscriber.queue.put_nowait({"id": self._last, "kind": "reset"})
                else:
                    subscriber.position = after
                    for event in itertools.islice(self._ring, max(0, after - self._forgotten), None):
                        document = subscriber.document(event)
                        if document is not None:
                            subscriber.queue.put_nowait(document)
            self._subscribers.add(subscriber)
        return Subscription(self, subscriber)

    def _resumed_after(self, last_event_id: str) -> int | None:
        """The number after which the events are all kept, ``None`` if they are not (or not ours)."""
        epoch, _, number = last_event_id.strip().partition("-")
        if epoch != self.epoch or not number.isdigit():
            return None
        after = int(number)
        return after if self._forgotten <= after <= self._last else None

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

    def event_id(self, number: int | None = None) -> str:
        """The SSE id of event ``number``, by default of the last one before those the stream gets."""
        return self._hub.event_id(self._subscriber.position if number is None else number)

    async def next(self, timeout: float) -> Document | None:
        """The next event, ``None`` once the stream ended; ``TimeoutError`` if none came in time."""
        return await asyncio.wait_for(self._subscriber.queue.get(), timeout)


async def sse(subscription: Subscription, *, until_job_ends: bool = False) -> AsyncIterator[str]:
    """Server-sent events: ``id`` (``EPOCH-NUMBER``), ``event`` (the kind), ``data`` (JSON); a keep-alive
    comment every 15 s."""
    with subscription:
        # Sent at once: the client knows it will miss nothing from here, and where to resume from.
        yield f": subscribed\nid: {subscription.event_id()}\n\n"
        while True:
            try:
                event = await subscription.next(KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if event is None:
                return
            event_id = subscription.event_id(event["id"])
            yield f"id: {event_id}\nevent: {event['kind']}\ndata: {json.dumps(event)}\n\n"
            if until_job_ends and event["kind"] == "job" and not JobStatus(event["status"]).is_alive:
                return
