"""The event stream: what you may see happen (jobs, tasks, logs, nodes, service instances, notifications),
read as server-sent events and resumed after a dropped connection."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from runyard.client.documents import StreamEvent
from runyard.client.transport import Stream, segment, streaming
from runyard.model import JobStatus

SUBSCRIBED = "subscribed"
"""Kind of the event marking the start of a stream, when asked for (see :meth:`EventsApi.events`)."""
RESET = "reset"
"""Kind of the event saying that events were missed while the stream was away: read the state again."""


@dataclass
class Cursor:
    """Where a stream is: the SSE id of the last event read, whether its job ended."""

    last_event_id: str | None = None
    ended: bool = False

    def resume(self) -> Mapping[str, str] | None:
        """Headers to open the stream again with, ``None`` when it is over."""
        if self.ended:
            return None
        return {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}


def sse_reader(
    job_id: int | None = None, *, marked: bool = False, cursor: Cursor | None = None
) -> Callable[[str], Iterable[StreamEvent]]:
    """A function fed the stream's lines one by one, giving each event once its blank line arrives.

    Each event's JSON data says all (``kind``, ``id``...); the ``id`` field goes to ``cursor``, other
    fields are skipped. Comments are skipped too, but with ``marked`` the server's ``: subscribed``
    comment gives an event of kind ``subscribed`` (for ``job_id``, 0 for every job). A job's final
    status ends the ``cursor`` of a job's stream.
    """
    data: list[str] = []
    mark: list[StreamEvent] = []  # the subscribed event, given at the end of its block (after its id)
    cursor = cursor or Cursor()

    def read(line: str) -> Iterable[StreamEvent]:
        if line == "":
            if mark:
                return (mark.pop(),)
            if not data:
                return ()
            event: StreamEvent = json.loads("\n".join(data))
            data.clear()
            if job_id is not None and event["kind"] == "job" and not JobStatus(event["status"]).is_alive:
                cursor.ended = True
            return (event,)
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "id":
            cursor.last_event_id = value
        elif field == "" and marked and value.strip() == SUBSCRIBED:
            mark.append({"id": 0, "kind": SUBSCRIBED, "job_id": job_id or 0, "task": None, "status": ""})
        return ()

    return read


def event_stream(
    path: str,
    job_id: int | None = None,
    *,
    marked: bool = False,
    timeout: float | None = None,
    logs: bool = False,
    cursor: Cursor | None = None,
    stop: Callable[[StreamEvent], bool] | None = None,
) -> Stream[StreamEvent]:
    """The events of ``path`` (of ``job_id``'s stream), after ``cursor``'s position if it has one."""
    cursor = cursor or Cursor()
    params = {"logs": "true"} if logs else {}
    if cursor.last_event_id:
        params["last_event_id"] = cursor.last_event_id
    return Stream(
        path,
        lambda: sse_reader(job_id, marked=marked, cursor=cursor),
        params=params,
        timeout=timeout,
        resume=cursor.resume,
        stop=stop,
    )


def job_events(
    job_id: int, timeout: float | None = None, *, marked: bool = False, logs: bool = False
) -> Stream[StreamEvent]:
    """The events of one job, ending after its final status (at once if it has ended)."""
    return event_stream(f"/jobs/{segment(job_id)}/events", job_id, marked=marked, timeout=timeout, logs=logs)


class EventsApi:
    @streaming
    def events(
        self, job_id: int | None = None, *, subscribed: bool = False, logs: bool = False
    ) -> Stream[StreamEvent]:
        """What happens: to one job (ending when the job ends), or to everything you may see.

        Without ``job_id`` the stream has no end: stop iterating when you have what you need. Events are
        dictionaries with ``id`` and ``kind``: ``job`` and ``task`` (``job_id``, ``task``, ``status``,
        ``node``, ``owner``), ``log`` (with ``job_id`` and ``logs``: ``task``, ``execution``, ``offset``,
        ``text``), ``node`` (``node``, ``info``), ``service_instance`` (``instance``), ``notification``
        (``notification``), ``signal`` (``job_id``, and ``signal`` or ``removed``: see ``list_signals``);
        skip kinds you do not know. A dropped stream is opened again where it was
        left; a ``reset`` event then says that events were missed (read the state again).
        With ``subscribed``, the first event, of kind ``subscribed``, comes as soon as the server
        has subscribed the stream: no change after it is missed, so it is the moment to read the
        state the events will update (``get_job``); it comes again after each reopening.
        """
        if job_id is not None:
            return job_events(job_id, marked=subscribed, logs=logs)
        return event_stream("/events", marked=subscribed)
