"""What the scheduler's core is told, as data: node reports, user commands, driver findings.

Every input is a dataclass of plain values, so that a turn (its inputs and its one clock reading)
can be written to the event log and fed again to a fresh core (:mod:`runyard.scheduler.journal`).
What needs I/O is done by the driver before the core sees it: the tail of an execution's output is
read into :class:`Ended` and :class:`NodeLeft`, a job is stored (and given its id) before
:class:`Submitted`, a start whose spec hooks failed comes back as :class:`StartFailed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runyard.model import Priority
from runyard.nodes.protocol import NodeInfo, RecordedExecution, TaskOutcome
from runyard.scheduler.rules import Rules
from runyard.scheduler.state import JobState
from runyard.store.node_settings import NodeSetting

# -- from the nodes (with what the driver read for them) ------------------------------------------


@dataclass
class Joined:
    """A node is up (``NodeUp``)."""

    node: NodeInfo


@dataclass
class NodeLeft:
    """A node is down (``NodeDown``) or gone for good (``NodeRemoved``); ``output``: the tail of the
    output of the execution it ran, if any."""

    node: str
    reason: str
    removed: bool = False
    output: str = ""


@dataclass
class Ended:
    """An execution ended (``TaskDone``); ``output``: the tail of its output file."""

    node: str
    outcome: TaskOutcome
    output: str = ""


@dataclass
class Began:
    """A node started an execution whose start the scheduler awaited (``TaskStarted`` with ``awaited``:
    a native scheduler's node, once its job is up); the others are RUNNING from their dispatch."""

    node: str
    task_id: str
    execution: int


@dataclass
class StartFailed:
    """The start of an execution the core asked for could not be made: its spec could not be built
    (``lost=False``: the task fails, as the next attempt would fail alike), or the node refused it
    (``lost=True``: the node-lost rule)."""

    node: str
    job_id: int
    task: str
    execution: int
    reason: str
    lost: bool = False


@dataclass
class Recovered:
    """The scheduler (re)started: node state starts afresh from the ``configured`` tokens (which cannot
    be removed) and the stored ``settings`` (locks and tokens given at run time); executions the store
    recorded as running are ``adopted`` (still running on their node) or lost with the previous runner
    (their output tails in ``outputs``, by task id)."""

    configured: dict[str, list[str]] = field(default_factory=dict)
    settings: dict[str, NodeSetting] = field(default_factory=dict)
    rules: Rules | None = None  # the core's rules from now on (None: unchanged)
    adopted: list[RecordedExecution] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Submitted:
    """A job, already stored with its id; ``workflow``: its workflow as a mapping (as stored)."""

    job: JobState
    workflow: dict[str, Any]


# -- commands (answered: see ``Turn.replies``) ------------------------------------------------------


@dataclass
class KillJob:
    job_id: int


@dataclass
class PauseJob:
    job_id: int


@dataclass
class ResumeJob:
    job_id: int


@dataclass
class KillTask:
    job_id: int
    task: str


@dataclass
class PauseTask:
    job_id: int
    task: str


@dataclass
class ResumeTask:
    job_id: int
    task: str


@dataclass
class RestartTask:
    """Give an IN_ERROR task (``onTaskError="suspendTask"``) a new set of executions."""

    job_id: int
    task: str


@dataclass
class SetPriority:
    job_id: int
    priority: Priority


@dataclass
class RemoveJob:
    """Delete an ended job (its existence is checked by the caller, against the store)."""

    job_id: int


@dataclass
class LockNode:
    node: str
    by: str


@dataclass
class UnlockNode:
    node: str


@dataclass
class AddNodeToken:
    node: str
    token: str


@dataclass
class RemoveNodeToken:
    node: str
    token: str


JobCommand = KillJob | PauseJob | ResumeJob | KillTask | PauseTask | ResumeTask | RestartTask | SetPriority
NodeCommand = LockNode | UnlockNode | AddNodeToken | RemoveNodeToken
Command = JobCommand | NodeCommand | RemoveJob
Event = Joined | NodeLeft | Ended | Began | StartFailed | Recovered | Submitted | Command

#: Every input type, by name (the event log's ``type`` field).
EVENT_TYPES: dict[str, type[Event]] = {
    kind.__name__: kind
    for kind in (
        Joined, NodeLeft, Ended, StartFailed, Recovered, Submitted, KillJob, PauseJob, ResumeJob,
        KillTask, PauseTask, ResumeTask, RestartTask, SetPriority, RemoveJob, LockNode, UnlockNode,
        AddNodeToken, RemoveNodeToken, Began,
    )
}  # fmt: skip
