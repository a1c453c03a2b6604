"""The scheduler's event log: every turn's inputs and clock reading, one JSON line per turn, and its replay.

The driver appends a turn once its changes are stored, before it acts on them. Fed to a fresh
:class:`~runyard.scheduler.core.Core`, the lines rebuild the jobs, their task instances and their
execution records as the store holds them: a test and a debugging tool (``replay``), not a second
store. A line lost to a crash between a commit and its append makes the replay stop short of the
store by that turn.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ConfigDict, TypeAdapter

from runyard.formats.mapping import from_mapping
from runyard.scheduler import events as ev
from runyard.scheduler.core import Core
from runyard.scheduler.rules import Rules
from runyard.scheduler.state import JobState
from runyard.store.jobs import ExecutionRecord, job_document, job_from_rows

_CONFIG = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")  # results are pickled bytes


_ADAPTERS: dict[str, TypeAdapter[tuple[Any]]] = {
    name: TypeAdapter(tuple[kind], config=_CONFIG)  # type: ignore[arg-type,valid-type]
    for name, kind in ev.EVENT_TYPES.items()
}  # each in a tuple: a dataclass given alone may not take a config


def encode(event: ev.Event) -> list[Any]:
    """``[type name, fields]``, JSON-able."""
    if isinstance(event, ev.Submitted):
        return ["Submitted", {"job": job_document(event.job), "workflow": event.workflow}]
    (fields,) = _ADAPTERS[type(event).__name__].dump_python((event,), mode="json")
    return [type(event).__name__, fields]


def decode(item: list[Any]) -> ev.Event:
    name, fields = item
    if name == "Submitted":
        document, workflow = fields["job"], fields["workflow"]
        job = job_from_rows({**document["job"], "workflow": workflow}, document["tasks"], from_mapping)
        return ev.Submitted(job, workflow)
    (event,) = _ADAPTERS[name].validate_python((fields,))
    return event  # type: ignore[no-any-return]


class EventLog:
    """Appends turns to a JSON-lines file (created with its folder)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] = path.open("a", encoding="utf-8")

    @staticmethod
    def line(now: float, events: Iterable[ev.Event]) -> str:
        """A turn's line, made before the core handles the turn (which changes the jobs it is given)."""
        return json.dumps({"now": now, "events": [encode(e) for e in events]}, separators=(",", ":")) + "\n"

    def append(self, line: str) -> None:
        self._file.write(line)
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read(path: Path) -> Iterator[tuple[float, list[ev.Event]]]:
    """The turns of a log: their clock reading and their inputs."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            turn = json.loads(line)
            yield turn["now"], [decode(item) for item in turn["events"]]


@dataclass
class Replayed:
    """What a replay rebuilt: every job the log names (removed ones left out) and its execution records."""

    jobs: dict[int, JobState] = field(default_factory=dict)
    executions: dict[int, list[ExecutionRecord]] = field(default_factory=dict)
    turns: int = 0


def replay(turns: Iterable[tuple[float, list[ev.Event]]], rules: Rules | None = None) -> Replayed:
    """Feed ``turns`` (see :func:`read`) to a fresh core, keeping what a store would keep. The core
    decides with the rules each start logged (``rules`` until the first, default ones if not given)."""
    core, replayed = Core(rules or Rules()), Replayed()
    for now, events in turns:
        turn = core.handle(events, now)
        replayed.turns += 1
        replayed.jobs.update(turn.jobs)
        for job_id, records in turn.executions.items():
            replayed.executions.setdefault(job_id, []).extend(records)
        for job_id in turn.removed:
            replayed.jobs.pop(job_id, None)
            replayed.executions.pop(job_id, None)
    for records in replayed.executions.values():
        records.sort(key=lambda r: (r.task_number, r.execution))
    return replayed
