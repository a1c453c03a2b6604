"""What the scheduler and a node source say to each other.

Scheduler → node: a :class:`TaskSpec` (everything one execution needs; it may be pickled,
since it only carries platform-built data). Node → scheduler: :class:`NodeEvent` objects whose
payloads are plain JSON-able data. A task's result travels as opaque pickled bytes that only
descendant tasks (which run user code anyway) unpickle, plus a JSON value or a ``repr``
computed on the node: the scheduler never unpickles anything user code produced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from runyard.model import Executable, FileSelector, FlowAction, Script, SelectionScript
from runyard.nodes.accounts import Account


@dataclass
class ParentResult:
    """The result of a parent task, as seen by a child (``results[i]``)."""

    task_name: str
    value: bytes | None = None  # pickled result value
    error: str | None = None  # set when the parent ended FAULTY: ``.value()`` raises with it


@dataclass
class TaskSpec:
    """One execution of one task on one node."""

    job_id: str
    job_name: str
    task_id: str
    task_name: str  # instance name: "T", "T*1", "T#2", "T#1*2"
    execution: int  # 1 for the first run, 2 for the first retry...
    owner: str
    iteration: int
    replication: int
    variables: dict[str, Any]  # merged, ${} resolved, system variables (PA_*) included
    generic_information: dict[str, str]  # job GI overlaid with task GI, ${} resolved
    executable: Executable
    parents: list[ParentResult] = field(default_factory=list)  # ordered as the task's depends
    selection: list[SelectionScript] = field(default_factory=list)
    pre: Script | None = None
    post: Script | None = None
    flow: FlowAction | None = None
    cleaning: Script | None = None
    input_files: list[FileSelector] = field(default_factory=list)
    output_files: list[FileSelector] = field(default_factory=list)
    walltime: float | None = None  # seconds; the execution is killed past it
    localspace: str = ""  # fresh folder for this execution (created by the node)
    userspace: str = ""
    globalspace: str = ""
    inputspace: str = ""  # the job's inputSpace folder, if it declares one
    outputspace: str = ""  # the job's outputSpace folder, if it declares one
    log_path: str = ""  # stdout and stderr of every script are appended here, live
    credentials: dict[str, str] = field(default_factory=dict)
    source_dir: str | None = None  # folder of the workflow file, for relative script paths
    fork: bool = True  # False (ProActive fork="false"): run in the node's long-lived worker process
    node_tokens: list[str] = field(default_factory=list)  # tokens the node holds now (``nodeTokens``)
    environment: dict[str, str] = field(default_factory=dict)  # set in the task's process environment
    run_as_me: bool = False  # the task asks to run as its owner's OS account (``user_mapping``)
    # Set by the server: the task runs sandboxed, as this account (runyard.nodes.sandbox). ``None``
    # (``runyard run``, the user's own workflow on their own machine): as the node's process.
    account: Account | None = None
    services_dir: str = ""  # the owner's services folder (the process engine's), shown to the task
    # Set by the server only (runyard.appengine.execution.spec_hook): the spec runs the platform's own
    # code (no user code) outside the sandbox, with no account, on a node that sandboxes every task.
    platform: bool = False


class OutcomeKind(StrEnum):
    FINISHED = "finished"  # main (and pre/post/flow) succeeded
    FAULTY = "faulty"  # a script raised / exited non-zero, or a flow script gave a bad value
    NOT_SELECTED = "not_selected"  # a selection script said no: nothing else ran
    KILLED = "killed"  # killed on request
    WALLTIME = "walltime"  # killed because it ran past its walltime


@dataclass
class TaskOutcome:
    """What one execution produced. JSON-able (bytes are base64 on the wire if need be)."""

    task_id: str
    execution: int
    kind: OutcomeKind
    result: bytes | None = None  # pickled result value, opaque to the scheduler
    result_json: Any = None  # the result if it is JSON-able
    result_repr: str | None = None  # repr(result) otherwise (and always for display)
    error: str | None = None  # traceback or reason when not FINISHED
    variables: dict[str, Any] = field(default_factory=dict)  # after execution: propagated
    result_map: dict[str, Any] = field(default_factory=dict)
    flow: dict[str, Any] | None = None  # {"branch": "if"} | {"runs": 3} | {"loop": True | "cron"}
    exit_value: int | None = None
    started_at: float | None = None  # epoch seconds
    finished_at: float | None = None
    result_metadata: dict[str, Any] = field(default_factory=dict)  # ``resultMetadata``: content type...


@dataclass
class NodeInfo:
    name: str  # unique across node sources, e.g. "local-1"
    source: str  # node source name, e.g. "local"
    host: str
    url: str  # e.g. "local://hostname/local-1"
    alive: bool = True


@dataclass
class NodeUp:
    node: NodeInfo


@dataclass
class NodeDown:
    node: str
    reason: str


@dataclass
class TaskStarted:
    node: str
    task_id: str
    execution: int
    awaited: bool = False
    """The scheduler waits for this report to show the execution RUNNING: it gave the task to a node that
    starts it later (a native scheduler's node, once its job is up). Other executions are RUNNING from
    their dispatch, and their reports are not even queued."""


@dataclass
class TaskDone:
    node: str
    outcome: TaskOutcome


@dataclass
class NodeRemoved:
    """The node left for good (its source was removed): unlike ``NodeDown``, it will not come back."""

    node: str
    reason: str


NodeEvent = NodeUp | NodeDown | NodeRemoved | TaskStarted | TaskDone


@dataclass(frozen=True)
class RecordedExecution:
    """An execution the store records as running on a node (dispatched, not ended) at a scheduler start."""

    node: str
    task_id: str
    execution: int


class NodeSource(Protocol):
    """A set of nodes. Each node runs at most one task execution at a time."""

    name: str

    def start(self, on_event: Callable[[NodeEvent], None]) -> None:
        """Start the nodes; ``on_event`` is called (from any thread) for every event."""

    def nodes(self) -> list[NodeInfo]: ...

    def run(self, node: str, spec: TaskSpec) -> None:
        """Start ``spec`` on ``node`` without waiting; the end comes as a TaskDone event."""

    def kill(self, node: str, task_id: str, execution: int) -> None:
        """Kill that execution if it still runs (a TaskDone with KILLED follows)."""

    def reconcile(self, recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        """Of ``recorded`` (what ran on this source's nodes when the scheduler last stopped), those this
        source still runs or whose outcome it still holds: their events follow through ``on_event``
        (a ``TaskDone`` when each ends). The others are gone. Called once, after ``start`` and before
        any ``run``; waits at most ``timeout`` seconds for nodes that are not back yet."""

    def stop(self) -> None:
        """Stop every node and whatever it runs; a source whose executions outlive the server (slurm's
        native tasks, in jobs of their own) may leave them for the next start to adopt (``reconcile``),
        and then ends them in a ``retire()`` of its own, called instead when it is removed."""
