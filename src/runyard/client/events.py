"""The event stream: job and task status changes, read as server-sent events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from runyard.client.documents import Event
from runyard.client.transport import Stream, segment, streaming

SUBSCRIBED = "subscribed"
"""Kind of the event marking the start of a stream, when asked for (see :meth:`EventsApi.events`)."""


def sse_reader(job_id: int | None = None, *, marked: bool = False) -> Callable[[str], Iterable[Event]]:
    """A function fed the stream's lines one by one, giving each event once its blank line arrives.

    Fields other than ``data`` are skipped: each event's JSON data says all (``kind``, ``id``...).
    Comments are skipped too, but with ``marked`` the server's ``: subscribed`` comment gives an
    event of kind ``subscribed`` (for ``job_id``, 0 for every job).
    """
    data: list[str] = []

    def read(line: str) -> Iterable[Event]:
        if line == "":
            if not data:
                return ()
            event: Event = json.loads("\n".join(data))
            data.clear()
            return (event,)
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value.removeprefix(" "))
        elif field == "" and marked and value.strip() == SUBSCRIBED:
            return ({"id": 0, "kind": SUBSCRIBED, "job_id": job_id or 0, "task": None, "status": ""},)
        return ()

    return read


def job_events(job_id: int, timeout: float | None = None, *, marked: bool = False) -> Stream[Event]:
    """The events of one job, ending after its final status (at once if it has ended)."""
    return Stream(
        f"/jobs/{segment(job_id)}/events", lambda: sse_reader(job_id, marked=marked), timeout=timeout
    )


class EventsApi:
    @streaming
    def events(self, job_id: int | None = None, *, subscribed: bool = False) -> Stream[Event]:
        """Status changes as they happen: of one job (ending when the job ends), or of every job you may see.

        Without ``job_id`` the stream has no end: stop iterating when you have what you need.
        Events are dictionaries ``{"id", "kind": "job"|"task", "job_id", "task", "status", "node", "owner"}``.
        With ``subscribed``, the first event, of kind ``subscribed``, comes as soon as the server
        has subscribed the stream: no change after it is missed, so it is the moment to read the
        state the events will update (``get_job``).
        """
        if job_id is not None:
            return job_events(job_id, marked=subscribed)
        return Stream("/events", lambda: sse_reader(marked=subscribed))
