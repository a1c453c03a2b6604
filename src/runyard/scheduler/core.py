"""The scheduler's deterministic core: ``Core.handle(events, now) -> Turn``.

The core holds the alive jobs, the nodes and the leases (which node runs which execution) in
memory and turns one batch of inputs (:mod:`runyard.scheduler.events`) plus one clock reading into
the changes to store and the effects to make once they are stored (executions to start or kill,
logs to drop, answers to callers). It reads no file, store, vault or catalog and calls no node:
the driver (:mod:`runyard.scheduler.loop`) does, so that a stored event log replays to the same
state (:mod:`runyard.scheduler.journal`).

An execution is recorded (:class:`ExecutionRecord`) exactly when its lease closes: when its node
reports its end, when the node goes, when its start fails, or at a restart that finds it gone.
A lease closes once, so an execution is never recorded twice.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from runyard.errors import InvalidTransitionError, NotFoundError, RunyardError
from runyard.model import JobStatus, TaskStatus
from runyard.nodes import native_scheduler
from runyard.nodes.protocol import NodeInfo, OutcomeKind, RecordedExecution
from runyard.scheduler import events as ev
from runyard.scheduler import transitions as tr
from runyard.scheduler.dispatch import Candidate, Refusals, assign, job_order
from runyard.scheduler.graph import Graph
from runyard.scheduler.index import ReadyIndex
from runyard.scheduler.rules import Rules
from runyard.scheduler.specs import access_token
from runyard.scheduler.state import JobState, TaskState
from runyard.store.jobs import ExecutionRecord
from runyard.store.node_settings import NodeSetting

_MAX_CANDIDATES = 256
"""Ready instances looked at per turn and job: enough to fill every free node, bounded so that
a 10,000-task job costs the same per turn as a small one."""


@dataclass
class Active:
    """An alive job with what the core derives from it."""

    job: JobState
    graph: Graph
    index: ReadyIndex

    @classmethod
    def of(cls, job: JobState) -> Active:
        return cls(job, Graph(job.workflow), ReadyIndex(job))


@dataclass(frozen=True)
class Lease:
    """An execution given to a node, from its start (stored before the node is asked) to its end."""

    job_id: int
    task: str
    number: int
    execution: int
    orphan: bool = False
    """Its job ended while the node still ran it (killed): the node's report frees the node and is
    recorded, changing nothing else."""
    removed: bool = False
    """Its (ended) job was removed: its id may be given again (SQLite does), so the report is not even
    recorded: an orphan lease of a removed job never names a job."""

    @property
    def task_id(self) -> str:
        return f"{self.job_id}t{self.number}"


@dataclass(frozen=True)
class Start:
    """Effect: start that execution on that node (its spec built by the driver)."""

    node: str
    job_id: int
    task: str
    execution: int


@dataclass
class NodesState:
    """The core's state beside its jobs and rules: what a snapshot of the event log keeps of it."""

    nodes: list[NodeInfo] = field(default_factory=list)
    leases: dict[str, Lease] = field(default_factory=dict)  # by node
    configured: dict[str, list[str]] = field(default_factory=dict)
    settings: dict[str, NodeSetting] = field(default_factory=dict)
    refusals: list[tuple[int, str, str, float]] = field(default_factory=list)  # (job, task, node, until)
    offered_at: float = 0.0


class JobNotAlive(InvalidTransitionError):
    """A command named a job that is not alive (ended, or unknown: the driver asks the store)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"no alive job {job_id}")
        self.job_id = job_id


@dataclass
class Turn:
    """What one turn changed (to store) and must do once it is stored."""

    jobs: dict[int, JobState] = field(default_factory=dict)  # every job the turn changed, by id
    changes: dict[int, tr.Changes] = field(default_factory=dict)
    executions: dict[int, list[ExecutionRecord]] = field(default_factory=dict)
    starts: list[Start] = field(default_factory=list)
    dropped_logs: list[tuple[int, int, int]] = field(default_factory=list)  # (job, task number, execution)
    removed: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)  # jobs no longer alive after this turn
    nodes: set[str] = field(default_factory=set)  # whose lock or tokens changed (stored settings)
    touched: set[str] = field(default_factory=set)  # nodes that came, went, started or ended a task
    replies: dict[int, tuple[Any, RunyardError | None]] = field(default_factory=dict)  # by input index
    notes: list[str] = field(default_factory=list)  # what the driver may log (stale reports...)

    def of(self, job: JobState) -> tr.Changes:
        self.jobs[job.id] = job
        return self.changes.setdefault(job.id, tr.Changes())


class Core:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.active: dict[int, Active] = {}
        self.nodes: dict[str, NodeInfo] = {}
        self.leases: dict[str, Lease] = {}  # by node
        self.configured: dict[str, frozenset[str]] = {}  # tokens given at start (cannot be removed)
        self.settings: dict[str, NodeSetting] = {}  # locks and tokens given at run time (stored)
        self.tokens: dict[str, frozenset[str]] = {}  # what each node holds: both of the above
        self.refusals = Refusals()
        self.waking: set[int] = set()  # jobs whose ready index waits for a time (retry delay, cron)
        self.offered_at = 0.0  # the time the last dispatch offered ready tasks at

    def load(self, jobs: Sequence[JobState]) -> None:
        """Take the alive jobs of the store (at a start, before :class:`~events.Recovered`), or of an
        event log's snapshot (:mod:`runyard.scheduler.journal`)."""
        for job in jobs:
            self._activate(Active.of(job))

    def restore(self, nodes: NodesState) -> None:
        """Take the node side of an event log's snapshot (see :meth:`nodes_state`), after :meth:`load`."""
        self.nodes = {info.name: replace(info) for info in nodes.nodes}
        self.leases = dict(nodes.leases)
        self._set_tokens(nodes.configured, nodes.settings)
        self.refusals = Refusals()
        for job_id, task, node, until in nodes.refusals:
            self.refusals.add(job_id, task, node, until)
        self.offered_at = nodes.offered_at

    def nodes_state(self) -> NodesState:
        """What the core holds beside its jobs and rules (read only: the caller encodes it at once)."""
        return NodesState(
            nodes=list(self.nodes.values()),
            leases=self.leases,
            configured={node: sorted(tokens) for node, tokens in self.configured.items()},
            settings=self.settings,
            refusals=[
                (job_id, task, node, until)
                for (job_id, task), nodes in self.refusals.until.items()
                for node, until in nodes.items()
            ],
            offered_at=self.offered_at,
        )

    def handle(self, events: Sequence[ev.Event], now: float) -> Turn:
        """Apply ``events`` in order at time ``now``, then give ready tasks to free nodes."""
        turn = Turn()
        for index, event in enumerate(events):
            if isinstance(event, ev.Command):
                try:
                    turn.replies[index] = (self._command(event, now, turn), None)
                except RunyardError as error:
                    turn.replies[index] = (None, error)
            else:
                self._event(event, now, turn)
        self._dispatch(now, turn)
        for job_id, job in turn.jobs.items():  # a job's status only changes with a change of this turn
            if job_id in self.active and not job.status.is_alive:
                del self.active[job_id]
                for node, lease in self.leases.items():
                    if lease.job_id == job_id:
                        self.leases[node] = replace(lease, orphan=True)
                self.waking.discard(job_id)
                self.refusals.forget_job(job_id)
                turn.ended.append(job_id)
        return turn

    def next_wake(self) -> float | None:
        """When a turn is due without any event (a retry delay, a cron loop, a refusal ending).

        Only times after the last dispatch: a task due then was offered to the free nodes, and the
        next event (a node freed...) offers it again; waking for it would spin."""
        wakes = (self.active[j].index.next_wake() for j in self.waking)
        times = [w for w in wakes if w is not None and w > self.offered_at]
        expiry = self.refusals.next_expiry(self.offered_at)
        if expiry is not None:
            times.append(expiry)
        return min(times) if times else None

    def running(self) -> list[RecordedExecution]:
        """The executions alive jobs record as running (what a start asks the node sources about)."""
        return [
            RecordedExecution(task.node, task.task_id(job_id), task.executions)
            for job_id, active in self.active.items()
            for task in active.job.tasks.values()
            if tr.on_node(task) and task.node is not None
        ]

    # -- events --------------------------------------------------------------------------------

    def _event(self, event: ev.Event, now: float, turn: Turn) -> None:
        if isinstance(event, ev.Joined):
            self.nodes[event.node.name] = event.node
            turn.touched.add(event.node.name)
        elif isinstance(event, ev.Ended):
            self._ended(event, now, turn)
            turn.touched.add(event.node)
        elif isinstance(event, ev.NodeLeft):
            self._node_left(event, now, turn)
            turn.touched.add(event.node)
        elif isinstance(event, ev.StartFailed):
            self._start_failed(event, now, turn)
            turn.touched.add(event.node)
        elif isinstance(event, ev.Began):
            self._began(event, now, turn)
        elif isinstance(event, ev.Submitted):
            self._activate(Active.of(event.job))
            turn.jobs[event.job.id] = event.job
        elif isinstance(event, ev.Recovered):
            self._recovered(event, now, turn)

    def _activate(self, active: Active) -> None:
        self.active[active.job.id] = active
        self._track_wake(active)

    def _ended(self, event: ev.Ended, now: float, turn: Turn) -> None:
        outcome = event.outcome
        lease = self._close(event.node, outcome.task_id, outcome.execution)
        if lease is None:
            turn.notes.append(
                f"node {event.node} reported {outcome.task_id} ({outcome.execution}): not its lease"
            )
            return
        active = None if lease.orphan else self.active.get(lease.job_id)
        if active is None:  # the job ended meanwhile (killed): nothing of it changes any more
            if not lease.removed and outcome.kind is not OutcomeKind.NOT_SELECTED:
                self._record(lease, event.node, outcome.kind.value, outcome.started_at, outcome.finished_at,
                             event.output, outcome.error, turn)  # fmt: skip
            return
        job, task = active.job, active.job.tasks[lease.task]
        if outcome.kind is OutcomeKind.NOT_SELECTED:
            self.refusals.add(job.id, task.name, event.node, now + self.rules.selection_retry_delay)
            turn.dropped_logs.append((job.id, task.number, outcome.execution))
        else:
            self.refusals.forget(job.id, task.name)
            self._record(lease, event.node, outcome.kind.value, outcome.started_at, outcome.finished_at,
                         event.output, outcome.error, turn)  # fmt: skip
        tr.task_outcome(job, active.graph, task, outcome, now, turn.of(job), self.rules.job_limits)
        retry = task.status is TaskStatus.WAITING_ON_ERROR
        if retry and tr.retries_elsewhere(job, active.graph, task):
            others = [n for n, info in self.nodes.items() if info.alive and n != event.node]
            if others:  # with no other node, "elsewhere" cannot be honoured: retry where it failed
                self.refusals.add(job.id, task.name, event.node, until=math.inf)

    def _began(self, event: ev.Began, now: float, turn: Turn) -> None:
        """A held execution (see ``transitions.held``) started on its node: RUNNING from now."""
        lease = self.leases.get(event.node)
        if (
            lease is None
            or lease.orphan
            or (lease.task_id, lease.execution) != (event.task_id, event.execution)
        ):
            return
        active = self.active.get(lease.job_id)
        if active is not None:
            tr.task_began(active.job, active.job.tasks[lease.task], event.execution, now, turn.of(active.job))

    def _close(self, node: str, task_id: str, execution: int) -> Lease | None:
        """End the lease of ``node`` if it is that execution's (a report of another is stale)."""
        lease = self.leases.get(node)
        if lease is None or (lease.task_id, lease.execution) != (task_id, execution):
            return None
        return self.leases.pop(node)

    def _node_left(self, event: ev.NodeLeft, now: float, turn: Turn) -> None:
        info = self.nodes.get(event.node)
        if info is not None:
            info.alive = False
        if event.removed:  # its lock and run-time tokens go with it: a later node of that name starts afresh
            self.nodes.pop(event.node, None)
            if self.settings.pop(event.node, None) is not None:
                self.tokens[event.node] = self.configured.get(event.node, frozenset())
                turn.nodes.add(event.node)
        lease = self.leases.pop(event.node, None)
        if lease is not None:
            self._lost(lease, event.node, event.reason, event.output, now, turn)

    def _lost(self, lease: Lease, node: str | None, reason: str, output: str, now: float, turn: Turn) -> None:
        """The execution of ``lease`` ended with its node (or with the runner): recorded, re-run per the
        node-lost rule if its task still runs it."""
        active = None if lease.orphan else self.active.get(lease.job_id)
        if active is None:
            if not lease.removed:
                self._record(lease, node, "node_lost", None, now, output, reason, turn)
            return
        task = active.job.tasks[lease.task]
        if tr.held(task) and task.executions == lease.execution:  # gone before it started: not an error
            tr.task_unstarted(active.job, task, now, turn.of(active.job))
            turn.dropped_logs.append((active.job.id, task.number, lease.execution))
            return
        started = task.started_at if task.executions == lease.execution else None
        self._record(lease, node, "node_lost", started, now, output, reason, turn)
        if task.executions == lease.execution:
            changes = turn.of(active.job)
            tr.node_lost(active.job, active.graph, task, now, self.rules.max_failures_per_task, changes)

    @staticmethod
    def _record(
        lease: Lease, node: str | None, outcome: str, started: float | None, finished: float | None,
        output: str, error: str | None, turn: Turn,
    ) -> None:  # fmt: skip
        record = ExecutionRecord(
            lease.number, lease.execution, node, outcome, started, finished, output, error
        )
        turn.executions.setdefault(lease.job_id, []).append(record)

    def _start_failed(self, event: ev.StartFailed, now: float, turn: Turn) -> None:
        lease = self.leases.get(event.node)
        if lease is None or (lease.job_id, lease.task, lease.execution) != (
            event.job_id,
            event.task,
            event.execution,
        ):
            return
        del self.leases[event.node]
        if event.lost:
            self._lost(lease, event.node, event.reason, "", now, turn)
            return
        active = None if lease.orphan else self.active.get(event.job_id)
        if active is None:
            return
        task = active.job.tasks[event.task]
        if tr.on_node(task) and task.executions == event.execution:
            reason = f"cannot start: {event.reason}"
            tr.start_failed(active.job, active.graph, task, reason, now, turn.of(active.job))

    def _recovered(self, event: ev.Recovered, now: float, turn: Turn) -> None:
        if event.rules is not None:
            self.rules = event.rules
        self.nodes.clear()
        self.leases.clear()
        self.refusals = Refusals()
        self._set_tokens(event.configured, event.settings)
        adopted = set(event.adopted)
        for active in list(self.active.values()):
            for task in list(active.job.tasks.values()):
                if not tr.on_node(task) or task.node is None:
                    continue
                lease = Lease(active.job.id, task.name, task.number, task.executions)
                if RecordedExecution(task.node, lease.task_id, lease.execution) in adopted:
                    self.leases[task.node] = lease
                else:
                    output = event.outputs.get(lease.task_id, "")
                    self._lost(lease, task.node, "lost with the previous runner", output, now, turn)

    def _set_tokens(
        self, configured: Mapping[str, Iterable[str]], settings: Mapping[str, NodeSetting]
    ) -> None:
        self.configured = {node: frozenset(tokens) for node, tokens in configured.items()}
        self.settings = dict(settings)
        self.tokens = dict(self.configured)
        for node, setting in self.settings.items():
            self.tokens[node] = self.tokens.get(node, frozenset()) | setting.tokens

    # -- commands ------------------------------------------------------------------------------

    def _command(self, command: ev.Command, now: float, turn: Turn) -> Any:
        if isinstance(command, ev.RemoveJob):
            if command.job_id in self.active:
                status = self.active[command.job_id].job.status
                raise InvalidTransitionError(
                    f"job {command.job_id} is {status}: kill it or wait for its end first"
                )
            turn.removed.append(command.job_id)
            for node, lease in self.leases.items():
                if lease.orphan and lease.job_id == command.job_id:
                    self.leases[node] = replace(lease, removed=True)
            return None
        if isinstance(command, ev.LockNode | ev.UnlockNode | ev.AddNodeToken | ev.RemoveNodeToken):
            self._node_command(command, now, turn)
            return None
        active = self.active.get(command.job_id)
        if active is None:
            raise JobNotAlive(command.job_id)
        job, changes = active.job, turn.of(active.job)
        if isinstance(command, ev.KillJob):
            tr.kill_job(job, now, changes)
        elif isinstance(command, ev.PauseJob):
            if job.status is JobStatus.PAUSED:
                raise InvalidTransitionError(f"job {job.id} is already {JobStatus.PAUSED}")
            tr.pause_job(job, now, changes)
        elif isinstance(command, ev.ResumeJob):
            if job.status is not JobStatus.PAUSED:
                raise InvalidTransitionError(f"job {job.id} is {job.status}, not PAUSED")
            tr.resume_job(job, now, changes)
        elif isinstance(command, ev.SetPriority):
            job.priority = command.priority
            changes.job = True
        else:
            self._task_command(command, active, now, changes)
        return None

    def _task_command(
        self, command: ev.KillTask | ev.PauseTask | ev.ResumeTask | ev.RestartTask, active: Active,
        now: float, changes: tr.Changes,
    ) -> None:  # fmt: skip
        job, task = active.job, _alive_task(active, command.task)
        if isinstance(command, ev.KillTask):
            tr.kill_task(job, active.graph, task, now, changes)
        elif isinstance(command, ev.PauseTask):
            if tr.held(task):
                raise InvalidTransitionError(f"task {task.name} is starting on node {task.node}: kill it")
            if task.status not in (
                TaskStatus.PENDING,
                TaskStatus.WAITING_ON_ERROR,
                TaskStatus.WAITING_ON_FAILURE,
            ):
                raise InvalidTransitionError(f"task {task.name} is {task.status}: only a waiting task pauses")
            tr.pause_task(job, task, now, changes)
        elif isinstance(command, ev.ResumeTask):
            if task.status is not TaskStatus.PAUSED or job.status is JobStatus.PAUSED:
                raise InvalidTransitionError(f"task {task.name} is {task.status} in a {job.status} job")
            tr.resume_task(job, task, now, changes)
        else:
            if task.status is not TaskStatus.IN_ERROR:
                raise InvalidTransitionError(f"task {task.name} is {task.status}, not IN_ERROR")
            tr.restart_in_error_task(job, task, now, changes)

    def _node_command(self, command: ev.NodeCommand, now: float, turn: Turn) -> None:
        node = command.node
        if node not in self.nodes:
            raise NotFoundError(f"no node {node!r} (nodes: {', '.join(sorted(self.nodes))})")
        setting = self.settings.setdefault(node, NodeSetting())
        if isinstance(command, ev.LockNode):
            if setting.locked_by is not None:
                return
            setting.locked_by, setting.locked_at = command.by, now
        elif isinstance(command, ev.UnlockNode):
            if setting.locked_by is None:
                return
            setting.locked_by = setting.locked_at = None
        elif isinstance(command, ev.AddNodeToken):
            setting.tokens.add(command.token)
        else:
            if command.token not in setting.tokens:
                given = command.token in self.configured.get(node, frozenset())
                raise (InvalidTransitionError if given else NotFoundError)(
                    f"node {node} {'was given' if given else 'does not hold'} token {command.token!r}"
                    + (" at start: restart without it" if given else "")
                )
            setting.tokens.discard(command.token)
        self.tokens[node] = self.configured.get(node, frozenset()) | setting.tokens
        turn.nodes.add(node)

    # -- dispatch ------------------------------------------------------------------------------

    def _dispatch(self, now: float, turn: Turn) -> None:
        self._reindex(turn)  # even with no free node: the index must see every change
        self.offered_at = now
        free = [
            name
            for name, info in self.nodes.items()
            if info.alive and name not in self.leases and not self._locked(name)
        ]
        if not free:
            return
        actives = [self.active[job.id] for job in job_order(a.job for a in self.active.values())]
        for candidate, node in assign(
            self._candidates(actives, now, turn), free, self.tokens, self.refusals, now
        ):
            job, task = candidate.job, candidate.task
            # a native scheduler's node starts it once its job is up: held until then (Began)
            native = candidate.token is not None and candidate.token.startswith(native_scheduler.TOKEN_PREFIX)
            (tr.task_dispatched if native else tr.task_started)(job, task, node, now, turn.of(job))
            self.leases[node] = Lease(job.id, task.name, task.number, task.executions)
            turn.starts.append(Start(node, job.id, task.name, task.executions))
            turn.touched.add(node)
        self._drop_ended_starts(turn)
        self._reindex(turn)

    def _drop_ended_starts(self, turn: Turn) -> None:
        """A start whose job ended later in the same dispatch (a candidate that could not start failed
        it) is not made: its lease goes with it."""
        kept: list[Start] = []
        for start in turn.starts:
            active = self.active.get(start.job_id)
            task = active.job.tasks[start.task] if active is not None else None
            if task is not None and tr.on_node(task) and active is not None and active.job.status.is_alive:
                kept.append(start)
            else:
                del self.leases[start.node]
        turn.starts = kept

    def _candidates(self, actives: list[Active], now: float, turn: Turn) -> Iterator[Candidate]:
        """Ready instances in dispatch order, at most ``_MAX_CANDIDATES`` looked at per job."""
        for active in actives:
            for task in itertools.islice(active.index.ready(now), _MAX_CANDIDATES):
                try:
                    token = access_token(active.job, active.graph, task)
                    native_scheduler.check_held(token, self.tokens.values())
                except RunyardError as error:  # the index is not touched until reindexed: safe
                    reason = f"cannot start: {error}"
                    tr.start_failed(active.job, active.graph, task, reason, now, turn.of(active.job))
                    continue
                yield Candidate(active.job, task, token)

    def _locked(self, node: str) -> bool:
        setting = self.settings.get(node)
        return setting is not None and setting.locked_by is not None

    def _reindex(self, turn: Turn) -> None:
        """Refresh the ready index of every job this turn changed (only those can have moved)."""
        for job_id, changes in turn.changes.items():
            active = self.active.get(job_id)
            if active is not None and changes.tasks:
                active.index.refresh(changes.tasks)
                self._track_wake(active)

    def _track_wake(self, active: Active) -> None:
        if active.index.next_wake() is None:
            self.waking.discard(active.job.id)
        else:
            self.waking.add(active.job.id)


def _alive_task(active: Active, name: str) -> TaskState:
    """The instance ``name`` of the job, which must not have ended."""
    task = active.job.tasks.get(name)
    if task is None:
        raise NotFoundError(f"job {active.job.id} has no task {name!r}")
    if task.status.is_terminal:
        raise InvalidTransitionError(f"task {name} is {task.status}: it has ended")
    return task
