"""The scheduler's event log: every turn's inputs and clock reading, one JSON line per turn, rotated,
and its replay.

The driver appends a turn once its changes are stored, before it acts on them. Fed to a fresh
:class:`~runyard.scheduler.core.Core`, the lines rebuild the jobs, their task instances and their
execution records as the store holds them: a test and a debugging tool (``replay``), not a second
store. A line lost to a crash between a commit and its append makes the replay stop short of the
store by that turn.

The log is a set of files: ``events.jsonl`` (written), ``events.jsonl.1`` (the one before) …
``events.jsonl.<KEPT_FILES>`` (the oldest kept). The driver starts a new file at each start and once
the turns of the current one pass ``Settings.event_log_max_bytes``, between two turns. Every file
opens with a **snapshot** line (:class:`Snapshot`): the core's alive jobs (with their workflows,
task instances and the execution records the store holds of them), its rules and its node side
(nodes, leases, tokens, locks, selection refusals), so that a file replays alone: a replay starts
a fresh core from the snapshot and feeds it the turns that follow.

A file's last line may be cut short by a crash in the middle of its append: ``read`` skips it with a
warning (its turn is stored; the replay stops one turn short, as when the line was never begun).
Any other line that is not a snapshot or a turn stops ``read`` with :class:`EventLogError`, naming
the file and the line.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from runyard.errors import SchedulerError
from runyard.formats.mapping import from_mapping, to_mapping
from runyard.scheduler import events as ev
from runyard.scheduler.core import Core, NodesState
from runyard.scheduler.rules import Rules
from runyard.scheduler.state import JobState
from runyard.store.jobs import ExecutionRecord, job_document, job_from_rows

log = logging.getLogger(__name__)

KEPT_FILES = 3
"""Files kept besides the one written (``events.jsonl.1`` … ``.3``). The size setting bounds the disk
used (each file's turns stop at ``event_log_max_bytes``, plus its snapshot); the count only says how
much past the log explains, and a debugging tool needs the recent past: the last three starts or
rotations are that, and they are read in order by :func:`read_all`."""

_CONFIG = ConfigDict(
    ser_json_bytes="base64", val_json_bytes="base64", ser_json_inf_nan="constants"
)  # results are pickled bytes; a refusal for good ends at infinity


_ADAPTERS: dict[str, TypeAdapter[tuple[Any]]] = {
    name: TypeAdapter(tuple[kind], config=_CONFIG)  # type: ignore[arg-type,valid-type]
    for name, kind in ev.EVENT_TYPES.items()
}  # each in a tuple: a dataclass given alone may not take a config


class EventLogError(SchedulerError):
    """A line of an event log is neither a snapshot nor a turn (the file and line are in the message)."""


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


# -- snapshots -------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The core's state between two turns: the first line of every file of the log."""

    rules: Rules
    jobs: list[JobState] = field(default_factory=list)  # alive, in id order
    executions: dict[int, list[ExecutionRecord]] = field(default_factory=dict)  # of those jobs, as stored
    nodes: NodesState = field(default_factory=NodesState)

    def core(self) -> Core:
        """A fresh core in this state (it takes the snapshot's jobs: a snapshot starts one core)."""
        core = Core(self.rules)
        core.load(self.jobs)
        core.restore(self.nodes)
        return core


_RULES = TypeAdapter(tuple[Rules], config=_CONFIG)
_NODES = TypeAdapter(tuple[NodesState], config=_CONFIG)
_RECORDS = TypeAdapter(tuple[list[ExecutionRecord]], config=_CONFIG)


def snapshot_line(core: Core, executions: Mapping[int, Sequence[ExecutionRecord]]) -> str:
    """The snapshot line of ``core`` now, with the stored ``executions`` of its alive jobs."""
    jobs = []
    for job_id in sorted(core.active):
        job = core.active[job_id].job
        document = job_document(job)
        for task in document["tasks"]:
            if task["result"] is not None:
                task["result"] = base64.b64encode(task["result"]).decode("ascii")
        (records,) = _RECORDS.dump_python((list(executions.get(job_id, ())),), mode="json")
        jobs.append({**document, "workflow": to_mapping(job.workflow), "executions": records})
    ((rules,), (nodes,)) = (
        _RULES.dump_python((core.rules,), mode="json"),
        _NODES.dump_python((core.nodes_state(),), mode="json"),
    )
    snapshot = {"rules": rules, "jobs": jobs, "nodes": nodes}
    return json.dumps({"snapshot": snapshot}, separators=(",", ":")) + "\n"


def _decode_snapshot(fields: dict[str, Any]) -> Snapshot:
    jobs, executions = [], {}
    for document in fields["jobs"]:
        for task in document["tasks"]:
            if task["result"] is not None:
                task["result"] = base64.b64decode(task["result"])
        job = job_from_rows(
            {**document["job"], "workflow": document["workflow"]}, document["tasks"], from_mapping
        )
        jobs.append(job)
        (executions[job.id],) = _RECORDS.validate_python((document["executions"],))
    ((rules,), (nodes,)) = (
        _RULES.validate_python((fields["rules"],)),
        _NODES.validate_python((fields["nodes"],)),
    )
    return Snapshot(rules, jobs, {j: r for j, r in executions.items() if r}, nodes)


# -- writing ---------------------------------------------------------------------------------------


class EventLog:
    """Appends turns to a JSON-lines file (created with its folder), started afresh by :meth:`rotate`."""

    def __init__(self, path: Path, max_bytes: int, kept: int = KEPT_FILES) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.max_bytes, self.kept = path, max_bytes, kept
        self._file: IO[str] | None = None
        self._written = 0  # bytes of turns in the current file (its snapshot not counted)

    @staticmethod
    def line(now: float, events: Iterable[ev.Event]) -> str:
        """A turn's line, made before the core handles the turn (which changes the jobs it is given)."""
        return json.dumps({"now": now, "events": [encode(e) for e in events]}, separators=(",", ":")) + "\n"

    @property
    def full(self) -> bool:
        """The current file's turns passed ``max_bytes``: time to :meth:`rotate` (between two turns)."""
        return self._written >= self.max_bytes

    def rotate(self, snapshot: str) -> None:
        """Close the current file (if any), shift the kept ones (``.1`` → ``.2`` …, the oldest dropped),
        and start a new file with ``snapshot`` (:func:`snapshot_line`) as its first line."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.path.exists():
            if self.kept:
                _numbered(self.path, self.kept).unlink(missing_ok=True)
                for number in range(self.kept - 1, 0, -1):
                    if _numbered(self.path, number).exists():
                        _numbered(self.path, number).rename(_numbered(self.path, number + 1))
                self.path.rename(_numbered(self.path, 1))
            else:
                self.path.unlink()
        self._file = self.path.open("w", encoding="utf-8")
        self._file.write(snapshot)
        self._file.flush()
        self._written = 0

    def append(self, line: str) -> None:
        assert self._file is not None, "rotate() opens the log"
        self._file.write(line)
        self._file.flush()
        self._written += len(line)  # JSON escapes every non-ASCII character: one byte each

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _numbered(path: Path, number: int) -> Path:
    return path.with_name(f"{path.name}.{number}")


def files(path: Path) -> list[Path]:
    """The files of the log written at ``path``, oldest first, ``path`` last (those that exist)."""
    numbered = sorted(
        (int(p.name.rpartition(".")[2]), p)
        for p in path.parent.glob(f"{path.name}.*")
        if p.name.rpartition(".")[2].isdigit()
    )
    return [p for _, p in reversed(numbered)] + ([path] if path.exists() else [])


# -- reading and replaying -------------------------------------------------------------------------

TurnEntry = tuple[float, list[ev.Event]]
"""A turn's clock reading and inputs."""


def read(path: Path) -> Iterator[Snapshot | TurnEntry]:
    """The lines of one file: its snapshot (a file from before the snapshots has none), then its turns.
    A last line cut short by a crash is skipped with a warning; any other bad line raises
    :class:`EventLogError`."""
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            try:
                entry = _entry(line)
            except (ValueError, KeyError, TypeError, ValidationError) as error:
                if not line.endswith(b"\n"):  # only the last line may lack one
                    log.warning(
                        "%s: line %d is cut short (a crash while it was written): skipped", path, number
                    )
                    return
                raise EventLogError(
                    f"{path}: line {number} is not a snapshot or a turn: {_brief(error)}"
                ) from None
            yield entry


def _entry(line: bytes) -> Snapshot | TurnEntry:
    document = json.loads(line)
    if "snapshot" in document:
        return _decode_snapshot(document["snapshot"])
    return float(document["now"]), [decode(item) for item in document["events"]]


def _brief(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 300 else text[:300] + "…"


def read_all(path: Path) -> Iterator[Snapshot | TurnEntry]:
    """The lines of every file kept of the log written at ``path``, oldest first (see :func:`files`)."""
    return itertools.chain.from_iterable(read(p) for p in files(path))


@dataclass
class Replayed:
    """What a replay rebuilt: every job the log names (removed ones left out) and its execution records."""

    jobs: dict[int, JobState] = field(default_factory=dict)
    executions: dict[int, list[ExecutionRecord]] = field(default_factory=dict)
    turns: int = 0
    snapshots: int = 0


def replay(entries: Iterable[Snapshot | TurnEntry], rules: Rules | None = None) -> Replayed:
    """Feed ``entries`` (see :func:`read`) to a core, keeping what a store would keep. A snapshot starts
    a fresh core in its state (its jobs and their execution records replace what was rebuilt of them);
    before the first, the core is a fresh one with ``rules`` (default ones if not given). The core
    decides with the rules each start logged."""
    core, replayed = Core(rules or Rules()), Replayed()
    for entry in entries:
        if isinstance(entry, Snapshot):
            core = entry.core()
            replayed.snapshots += 1
            for job in entry.jobs:
                replayed.jobs[job.id] = job
                replayed.executions[job.id] = list(entry.executions.get(job.id, []))
            continue
        now, events = entry
        turn = core.handle(events, now)
        replayed.turns += 1
        replayed.jobs.update(turn.jobs)
        for job_id, records in turn.executions.items():
            replayed.executions.setdefault(job_id, []).extend(records)
        for job_id in turn.removed:
            replayed.jobs.pop(job_id, None)
            replayed.executions.pop(job_id, None)
    for job_id, records in list(replayed.executions.items()):
        if not records:
            del replayed.executions[job_id]
            continue
        records.sort(key=lambda r: (r.task_number, r.execution))
    return replayed
