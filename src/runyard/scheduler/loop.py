"""The scheduler: one thread that owns the store and turns events into transitions.

Each turn drains every queued event (node reports, user commands), applies the pure
transitions, picks tasks for free nodes, writes everything the turn changed in ONE
transaction, and only then acts: starts executions, kills, answers callers, tells listeners.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from runyard.errors import (
    InvalidTransitionError,
    NotFoundError,
    RunyardError,
    SchedulerError,
    UnknownJobError,
)
from runyard.formats.mapping import from_mapping, to_mapping
from runyard.model import JobStatus, Priority, TaskStatus
from runyard.nodes.protocol import (
    NodeDown,
    NodeEvent,
    NodeInfo,
    NodeSource,
    NodeUp,
    OutcomeKind,
    TaskDone,
    TaskSpec,
    TaskStarted,
)
from runyard.scheduler import transitions as tr
from runyard.scheduler.dispatch import Candidate, Refusals, assign, job_order
from runyard.scheduler.graph import Graph
from runyard.scheduler.index import ReadyIndex
from runyard.scheduler.specs import Spaces, access_token, build_spec
from runyard.scheduler.state import JobState, TaskState
from runyard.settings import Settings
from runyard.store import jobs as store
from runyard.store.node_settings import NodeSetting, load_node_settings, save_node_setting

log = logging.getLogger(__name__)
T = TypeVar("T")

_MAX_CANDIDATES = 256
"""Ready instances looked at per turn and job: enough to fill every free node, bounded so that
a 10,000-task job costs the same per turn as a small one."""


@dataclass(frozen=True)
class JobEvent:
    """Told to listeners after the change is stored: a task or job changed status."""

    job_id: int
    status: str
    task: str | None = None
    node: str | None = None
    log_path: str | None = None
    owner: str = ""
    execution: int = 0
    """Of a task: its current execution (1 for the first), whose output goes to ``log_path``."""


@dataclass(frozen=True)
class NodeView:
    """A node as users see it; ``state``: ``down``, ``busy``, ``locked`` or ``free``, in that precedence."""

    name: str
    source: str
    host: str
    url: str
    state: str
    locked: bool
    locked_by: str | None
    locked_at: float | None
    tokens: tuple[str, ...]
    job_id: int | None
    task: str | None
    owner: str | None = None
    """Of the job running on the node (not for every user's eyes)."""


SpecHook = Callable[[sa.Connection, JobState, TaskSpec], TaskSpec]
"""Completes a task's spec at start with what the platform holds beside jobs (third-party
credentials, catalog scripts); raising ``RunyardError`` makes the start fail with that reason."""


@dataclass
class _Command:
    action: Callable[[], Any]
    future: Future[Any] = field(default_factory=Future)


@dataclass
class _Active:
    job: JobState
    graph: Graph
    index: ReadyIndex
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Turn:
    """What one turn changed and must do once the change is stored."""

    changes: dict[int, tr.Changes] = field(default_factory=dict)
    new_jobs: list[_Active] = field(default_factory=list)
    executions: dict[int, list[store.ExecutionRecord]] = field(default_factory=dict)
    starts: list[tuple[str, TaskSpec]] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    nodes: set[str] = field(default_factory=set)  # whose lock or tokens changed
    touched: set[str] = field(default_factory=set)  # nodes that came, went, started or ended a task
    replies: list[tuple[_Command, Any, BaseException | None]] = field(default_factory=list)

    def of(self, job_id: int) -> tr.Changes:
        return self.changes.setdefault(job_id, tr.Changes())


class Scheduler:
    def __init__(
        self,
        engine: sa.Engine,
        node_source: NodeSource,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        spec_hooks: tuple[SpecHook, ...] = (),
    ) -> None:
        self.engine = engine
        self.node_source = node_source
        self.settings = settings
        self.clock = clock
        self.spaces = Spaces(settings.data_dir, settings.data_space_roots)
        self._queue: queue.Queue[NodeEvent | _Command | None] = queue.Queue()
        self._active: dict[int, _Active] = {}
        self._nodes: dict[str, NodeInfo] = {}
        self._busy: dict[str, tuple[int, str]] = {}
        self._tokens = {n: frozenset(t) for n, t in settings.node_tokens.items()}
        self._settings: dict[str, NodeSetting] = {}  # locks and tokens given at run time, stored
        self._waking: set[int] = set()  # jobs whose ready index waits for a time (retry delay, cron)
        self._offered_at = 0.0  # the time the last dispatch offered ready tasks at
        self._spec_hooks = spec_hooks
        self._refusals = Refusals()
        self._listeners: list[Callable[[JobEvent], None]] = []
        self._node_listeners: list[Callable[[NodeView], None]] = []
        self._told_nodes: dict[str, NodeView] = {}  # node views listeners last heard of
        self._told: dict[int, JobStatus] = {}  # job status listeners last heard of
        self._urls = {
            "PA_SCHEDULER_REST_URL": settings.scheduler_rest_url,
            "PA_CATALOG_REST_URL": settings.catalog_rest_url,
            "PA_CLOUD_AUTOMATION_REST_URL": settings.cloud_automation_rest_url,
        }
        # ProActive's links for a browser (PA_SCHEDULER_REST_PUBLIC_URL...): these URLs are already public
        self._urls |= {f"{name.removesuffix('_URL')}_PUBLIC_URL": url for name, url in self._urls.items()}
        self._thread = threading.Thread(target=self._run, name="runyard-scheduler", daemon=True)
        self._broken: SchedulerError | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Resume every unfinished job, start the nodes, then the scheduling thread."""
        self._recover()
        with self.engine.connect() as connection:
            self._settings = load_node_settings(connection)
        for node, setting in self._settings.items():
            self._tokens[node] = self._tokens.get(node, frozenset()) | setting.tokens
        self.node_source.start(self._queue.put)
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self.node_source.stop()

    def add_listener(self, listener: Callable[[JobEvent], None]) -> None:
        self._listeners.append(listener)

    def add_node_listener(self, listener: Callable[[NodeView], None]) -> None:
        """Call ``listener(view)`` on the scheduler thread after a stored change of a node's view."""
        self._node_listeners.append(listener)

    # -- commands (any thread) --------------------------------------------------------------

    def submit_later(self, job: JobState) -> Future[JobState]:
        """Store a prepared job (see ``submission.prepare_job``): the future is answered once it is
        stored, with the job, whose ``id`` is then set."""

        def action() -> JobState:
            self._turn.new_jobs.append(_Active(job, Graph(job.workflow), ReadyIndex(job)))
            return job

        return self._send(action)

    def alive_job_ids(self) -> list[int]:
        return sorted(list(self._active))

    def wait(self, job_id: int, timeout: float | None = None) -> JobStatus:
        """Block until the job is no longer alive (or ``timeout``); returns its status."""
        active = self._active.get(job_id)
        if active is not None:
            active.done.wait(timeout)
        if self._broken is not None:
            raise self._broken
        return self.status(job_id)

    def status(self, job_id: int) -> JobStatus:
        with self.engine.connect() as connection:
            status = store.job_status(connection, job_id)
        if status is None:
            raise UnknownJobError(f"no job {job_id}")
        return status

    def kill_job(self, job_id: int) -> None:
        self._job_command(job_id, lambda a, c: tr.kill_job(a.job, self.clock(), c))

    def pause_job(self, job_id: int) -> None:
        self._job_command(job_id, lambda a, c: tr.pause_job(a.job, self.clock(), c), unless=JobStatus.PAUSED)

    def resume_job(self, job_id: int) -> None:
        def resume(active: _Active, changes: tr.Changes) -> None:
            if active.job.status is not JobStatus.PAUSED:
                raise InvalidTransitionError(f"job {job_id} is {active.job.status}, not PAUSED")
            tr.resume_job(active.job, self.clock(), changes)

        self._job_command(job_id, resume)

    def kill_task(self, job_id: int, task: str) -> None:
        def kill(active: _Active, changes: tr.Changes) -> None:
            tr.kill_task(active.job, active.graph, self._task(active, task), self.clock(), changes)

        self._job_command(job_id, kill)

    def pause_task(self, job_id: int, task: str) -> None:
        def pause(active: _Active, changes: tr.Changes) -> None:
            instance = self._task(active, task)
            if instance.status not in (
                TaskStatus.PENDING,
                TaskStatus.WAITING_ON_ERROR,
                TaskStatus.WAITING_ON_FAILURE,
            ):
                raise InvalidTransitionError(f"task {task} is {instance.status}: only a waiting task pauses")
            tr.pause_task(active.job, instance, self.clock(), changes)

        self._job_command(job_id, pause)

    def resume_task(self, job_id: int, task: str) -> None:
        def resume(active: _Active, changes: tr.Changes) -> None:
            instance = self._task(active, task)
            if instance.status is not TaskStatus.PAUSED or active.job.status is JobStatus.PAUSED:
                raise InvalidTransitionError(f"task {task} is {instance.status} in a {active.job.status} job")
            tr.resume_task(active.job, instance, self.clock(), changes)

        self._job_command(job_id, resume)

    def restart_task(self, job_id: int, task: str) -> None:
        """Give an IN_ERROR task (``onTaskError="suspendTask"``) a new set of executions."""

        def restart(active: _Active, changes: tr.Changes) -> None:
            instance = self._task(active, task)
            if instance.status is not TaskStatus.IN_ERROR:
                raise InvalidTransitionError(f"task {task} is {instance.status}, not IN_ERROR")
            tr.restart_in_error_task(active.job, instance, self.clock(), changes)

        self._job_command(job_id, restart)

    def set_priority(self, job_id: int, priority: Priority) -> None:
        def change(active: _Active, changes: tr.Changes) -> None:
            active.job.priority = priority
            changes.job = True

        self._job_command(job_id, change)

    def remove_job(self, job_id: int) -> None:
        """Delete an ended job, its tasks, executions and logs."""

        def remove() -> None:
            if job_id in self._active:
                status = self._active[job_id].job.status
                raise InvalidTransitionError(f"job {job_id} is {status}: kill it or wait for its end first")
            self.status(job_id)  # raises UnknownJobError
            self._turn.removed.append(job_id)

        self._call(remove)

    # -- nodes (any thread) ---------------------------------------------------------------

    def nodes(self) -> list[NodeView]:
        return self._call(lambda: [self._view(name) for name in sorted(self._nodes)])

    def lock_node(self, node: str, by: str) -> None:
        """A locked node finishes its current task and takes no other until unlocked."""

        def lock() -> None:
            setting = self._setting(node)
            if setting.locked_by is None:
                setting.locked_by, setting.locked_at = by, self.clock()
                self._turn.nodes.add(node)

        self._call(lock)

    def unlock_node(self, node: str) -> None:
        def unlock() -> None:
            setting = self._setting(node)
            if setting.locked_by is not None:
                setting.locked_by = setting.locked_at = None
                self._turn.nodes.add(node)

        self._call(unlock)

    def add_node_token(self, node: str, token: str) -> None:
        def add() -> None:
            self._setting(node).tokens.add(token)
            self._tokens[node] = self._tokens.get(node, frozenset()) | {token}
            self._turn.nodes.add(node)

        self._call(add)

    def remove_node_token(self, node: str, token: str) -> None:
        """Tokens given at start (``Settings.node_tokens``) cannot be removed at run time."""

        def remove() -> None:
            setting = self._setting(node)
            if token not in setting.tokens:
                given = token in self._tokens.get(node, frozenset())
                raise (InvalidTransitionError if given else NotFoundError)(
                    f"node {node} {'was given' if given else 'does not hold'} token {token!r}"
                    + (" at start: restart without it" if given else "")
                )
            setting.tokens.discard(token)
            self._tokens[node] = frozenset(self.settings.node_tokens.get(node, ())) | setting.tokens
            self._turn.nodes.add(node)

        self._call(remove)

    def _locked(self, node: str) -> bool:
        setting = self._settings.get(node)
        return setting is not None and setting.locked_by is not None

    def _setting(self, node: str) -> NodeSetting:
        if node not in self._nodes:
            raise NotFoundError(f"no node {node!r} (nodes: {', '.join(sorted(self._nodes))})")
        return self._settings.setdefault(node, NodeSetting())

    def _view(self, name: str) -> NodeView:
        info = self._nodes[name]
        setting = self._settings.get(name, NodeSetting())
        busy = self._busy.get(name)
        state = "down" if not info.alive else "busy" if busy else "locked" if setting.locked_by else "free"
        return NodeView(
            name=name,
            source=info.source,
            host=info.host,
            url=info.url,
            state=state,
            locked=setting.locked_by is not None,
            locked_by=setting.locked_by,
            locked_at=setting.locked_at,
            tokens=tuple(sorted(self._tokens.get(name, frozenset()))),
            job_id=busy[0] if busy else None,
            task=busy[1] if busy else None,
            owner=self._active[busy[0]].job.owner if busy and busy[0] in self._active else None,
        )

    # -- internals ----------------------------------------------------------------------------

    def _call(self, action: Callable[[], T]) -> T:
        return self._send(action).result()

    def _send(self, action: Callable[[], T]) -> Future[T]:
        """Queue ``action`` for the scheduler thread; its future is answered after the turn's commit."""
        if self._broken is not None:
            raise self._broken
        if not self._thread.is_alive():
            raise SchedulerError("the scheduler is not running")
        command = _Command(action)
        self._queue.put(command)
        return command.future

    def _job_command(
        self,
        job_id: int,
        action: Callable[[_Active, tr.Changes], None],
        *,
        unless: JobStatus | None = None,
    ) -> None:
        def run() -> None:
            active = self._active.get(job_id)
            if active is None:
                status = self.status(job_id)  # raises UnknownJobError
                raise InvalidTransitionError(f"job {job_id} is {status}: it has ended")
            if unless is not None and active.job.status is unless:
                raise InvalidTransitionError(f"job {job_id} is already {unless}")
            action(active, self._turn.of(job_id))

        self._call(run)

    @staticmethod
    def _task(active: _Active, name: str) -> TaskState:
        """The instance ``name`` of the job, which must not have ended."""
        task = active.job.tasks.get(name)
        if task is None:
            raise NotFoundError(f"job {active.job.id} has no task {name!r}")
        if task.status.is_terminal:
            raise InvalidTransitionError(f"task {name} is {task.status}: it has ended")
        return task

    def _recover(self) -> None:
        """Load unfinished jobs; executions recorded as running were lost with the old nodes."""
        now = self.clock()
        with self.engine.begin() as connection:
            for job_id in store.alive_job_ids(connection):
                job = store.load_job(connection, job_id, from_mapping)
                assert job is not None
                graph = Graph(job.workflow)
                changes = tr.Changes()
                lost: list[store.ExecutionRecord] = []
                for task in list(job.tasks.values()):
                    if task.status is TaskStatus.RUNNING:
                        lost.append(
                            self._lost_execution(job.id, task, task.node, "lost with the previous runner")
                        )
                        tr.node_lost(job, graph, task, now, self.settings.max_failures_per_task, changes)
                tr.refresh_job_status(job, now, changes)
                store.record_executions(connection, job.id, lost)
                store.save_tasks(connection, job, changes.tasks)
                store.save_job(connection, job)
                if job.status.is_alive:
                    self._active[job.id] = _Active(job, graph, ReadyIndex(job))
                    self._track_wake(job.id, self._active[job.id])
                log.info("resumed job %s (%s)", job.id, job.status)

    def _run(self) -> None:
        try:
            while True:
                self._turn = _Turn()
                events = self._next_events()
                if events is None:
                    return
                if events and all(isinstance(e, TaskStarted) for e in events):
                    continue  # already recorded as RUNNING when dispatched: nothing to store or start
                for event in events:
                    self._handle(event)
                self._commit()
        except Exception as error:
            # The store and memory may now disagree: stop rather than guess; a restart recovers.
            log.exception("the scheduler stopped on an unexpected error")
            self._broken = SchedulerError(f"the scheduler stopped on an unexpected error: {error!r}")
            for active in self._active.values():
                active.done.set()
            self._fail_pending_commands()

    def _fail_pending_commands(self) -> None:
        for command, _, _ in self._turn.replies:
            if not command.future.done():
                command.future.set_exception(self._broken or SchedulerError("stopped"))
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(event, _Command):
                event.future.set_exception(self._broken or SchedulerError("stopped"))

    def _next_events(self) -> list[NodeEvent | _Command] | None:
        # Only times after the last dispatch: a task due then was offered to the free nodes, and the next
        # event (a node freed...) offers it again; waking for it would spin. A time that came between that
        # dispatch and now (a slow commit) wakes at once: nothing else might ever offer that task.
        offered_at, now = self._offered_at, self.clock()
        wakes = (self._active[j].index.next_wake() for j in self._waking)
        wake = [w for w in wakes if w is not None and w > offered_at]
        expiry = self._refusals.next_expiry(offered_at)
        if expiry is not None:
            wake.append(expiry)
        timeout = max(0.0, min(wake) - now) if wake else None
        events: list[NodeEvent | _Command] = []
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return events
        while True:
            if first is None:
                return None
            events.append(first)
            try:
                first = self._queue.get_nowait()
            except queue.Empty:
                return events

    def _handle(self, event: NodeEvent | _Command) -> None:
        if isinstance(event, _Command):
            try:
                self._turn.replies.append((event, event.action(), None))
            except Exception as error:
                self._turn.replies.append((event, None, error))
        elif isinstance(event, NodeUp):
            self._nodes[event.node.name] = event.node
            self._turn.touched.add(event.node.name)
        elif isinstance(event, NodeDown):
            self._node_down(event)
            self._turn.touched.add(event.node)
        elif isinstance(event, TaskDone):
            self._task_done(event)
            self._turn.touched.add(event.node)

    def _node_down(self, event: NodeDown) -> None:
        info = self._nodes.get(event.node)
        if info is not None:
            info.alive = False
        log.warning("node %s is down: %s", event.node, event.reason)
        busy = self._busy.pop(event.node, None)
        if busy is None or busy[0] not in self._active:
            return
        active = self._active[busy[0]]
        task = active.job.tasks[busy[1]]
        record = self._lost_execution(active.job.id, task, event.node, event.reason)
        self._turn.executions.setdefault(active.job.id, []).append(record)
        changes = self._turn.of(active.job.id)
        tr.node_lost(
            active.job, active.graph, task, self.clock(), self.settings.max_failures_per_task, changes
        )

    def _lost_execution(
        self, job_id: int, task: TaskState, node: str | None, reason: str
    ) -> store.ExecutionRecord:
        """The record of an execution that ended with its node (or with the runner)."""
        return store.ExecutionRecord(
            task_number=task.number,
            execution=task.executions,
            node=node,
            outcome="node_lost",
            started_at=task.started_at,
            finished_at=self.clock(),
            output=self._output(job_id, task.number, task.executions),
            error=reason,
        )

    def _task_done(self, event: TaskDone) -> None:
        outcome = event.outcome
        busy = self._busy.pop(event.node, None)
        if busy is None or busy[0] not in self._active:
            return
        job_id, name = busy
        active = self._active[job_id]
        task = active.job.tasks[name]
        if outcome.task_id != task.task_id(job_id):
            log.error("node %s reported %s while running %s", event.node, outcome.task_id, name)
            return
        now = self.clock()
        if outcome.kind is OutcomeKind.NOT_SELECTED:
            self._refusals.add(job_id, name, event.node, now + self.settings.selection_retry_delay)
            self.spaces.log(job_id, task.number, outcome.execution).unlink(missing_ok=True)
        else:
            self._refusals.forget(job_id, name)
            record = store.ExecutionRecord(
                task_number=task.number,
                execution=outcome.execution,
                node=event.node,
                outcome=outcome.kind.value,
                started_at=outcome.started_at,
                finished_at=outcome.finished_at,
                output=self._output(job_id, task.number, outcome.execution),
                error=outcome.error,
            )
            self._turn.executions.setdefault(job_id, []).append(record)
        limits = self.settings.job_limits
        tr.task_outcome(active.job, active.graph, task, outcome, now, self._turn.of(job_id), limits)
        retry = task.status is TaskStatus.WAITING_ON_ERROR
        if retry and tr.retries_elsewhere(active.job, active.graph, task):
            others = [n for n, info in self._nodes.items() if info.alive and n != event.node]
            if others:  # with no other node, "elsewhere" cannot be honoured: retry where it failed
                self._refusals.add(job_id, name, event.node, until=math.inf)

    def _output(self, job_id: int, number: int, execution: int) -> str:
        path: Path = self.spaces.log(job_id, number, execution)
        try:
            with path.open("rb") as f:
                size = f.seek(0, 2)
                f.seek(max(0, size - self.settings.max_output_bytes))
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _dispatch(self, connection: sa.Connection) -> None:
        self._reindex_changed()  # even with no free node: the index must see every change
        now = self._offered_at = self.clock()
        free = [
            n for n, info in self._nodes.items() if info.alive and n not in self._busy and not self._locked(n)
        ]
        if not free:
            return
        actives = [self._active[job.id] for job in job_order(a.job for a in self._active.values())]
        started: list[tuple[_Active, TaskState, str]] = []
        for candidate, node in assign(
            self._candidates(actives, now), free, self._tokens, self._refusals, now
        ):
            active = self._active[candidate.job.id]
            tr.task_started(active.job, candidate.task, node, now, self._turn.of(active.job.id))
            started.append((active, candidate.task, node))
        for active, task, node in started:
            try:
                info, tokens = self._nodes[node], self._tokens.get(node, frozenset())
                spec = build_spec(active.job, active.graph, task, info, self.spaces, self._urls, tokens)
                if spec.walltime is not None and spec.walltime > self.settings.max_walltime:
                    limit = f"{self.settings.max_walltime:g} s (max_walltime)"
                    raise SchedulerError(f"walltime of {spec.walltime:g} s, over the limit of {limit}")
                for hook in self._spec_hooks:
                    spec = hook(connection, active.job, spec)
            except RunyardError as error:
                self._start_failed(active, task, error)
                continue
            self._busy[node] = (active.job.id, task.name)
            self._turn.starts.append((node, spec))
        self._reindex_changed()

    def _candidates(self, actives: list[_Active], now: float) -> Iterator[Candidate]:
        """Ready instances in dispatch order, at most ``_MAX_CANDIDATES`` looked at per job."""
        for active in actives:
            for task in itertools.islice(active.index.ready(now), _MAX_CANDIDATES):
                try:
                    token = access_token(active.job, active.graph, task)
                except RunyardError as error:  # the index is not touched until reindexed: safe
                    self._start_failed(active, task, error)
                    continue
                yield Candidate(active.job, task, token)

    def _start_failed(self, active: _Active, task: TaskState, error: RunyardError) -> None:
        reason = f"cannot start: {error}"
        tr.start_failed(active.job, active.graph, task, reason, self.clock(), self._turn.of(active.job.id))

    def _reindex_changed(self) -> None:
        """Refresh the ready index of every job this turn changed (only those can have moved)."""
        for job_id, changes in self._turn.changes.items():
            active = self._active.get(job_id)
            if active is not None and changes.tasks:
                active.index.refresh(changes.tasks)
                self._track_wake(job_id, active)

    def _track_wake(self, job_id: int, active: _Active) -> None:
        if active.index.next_wake() is None:
            self._waking.discard(job_id)
        else:
            self._waking.add(job_id)

    def _commit(self) -> None:
        """Store new jobs, pick tasks for free nodes, store every change: one transaction."""
        turn = self._turn
        with self.engine.begin() as connection:
            store.insert_jobs(connection, [(a.job, to_mapping(a.job.workflow)) for a in turn.new_jobs])
            for active in turn.new_jobs:
                self._active[active.job.id] = active
                self._track_wake(active.job.id, active)
            self._dispatch(connection)
            for job_id, changes in turn.changes.items():
                changed = self._active.get(job_id)
                if changed is not None:
                    grown = any(not changed.job.tasks[name].stored for name in changes.tasks)
                    store.save_tasks(connection, changed.job, changes.tasks)
                    if changes.job or grown:  # new instances move the job's next_number
                        store.save_job(connection, changed.job)
            for job_id, records in turn.executions.items():
                store.record_executions(connection, job_id, records)
            for job_id in turn.removed:
                store.delete_job(connection, job_id)
            for node in turn.nodes:
                save_node_setting(connection, node, self._settings[node])
        self._after_commit(turn)

    def _after_commit(self, turn: _Turn) -> None:
        for node, spec in turn.starts:
            self.node_source.run(node, spec)
        for job_id, changes in turn.changes.items():
            for kill in changes.kills:
                self.node_source.kill(
                    kill.node, self._active[job_id].job.tasks[kill.task].task_id(job_id), kill.execution
                )
        for job_id in turn.removed:
            shutil.rmtree(self.spaces.root / "logs" / str(job_id), ignore_errors=True)
        for command, result, error in turn.replies:
            if error is not None:
                command.future.set_exception(error)
            else:
                command.future.set_result(result)
        self._notify(turn)
        self._notify_nodes(turn)
        ended = [j for j in turn.changes if j in self._active and not self._active[j].job.status.is_alive]
        for job_id in ended:  # a job's status only changes with a change of this turn
            self._active.pop(job_id).done.set()
            self._waking.discard(job_id)
            self._told.pop(job_id, None)
            self._refusals.forget_job(job_id)

    def _notify(self, turn: _Turn) -> None:
        if not self._listeners:
            return
        for job_id, changes in turn.changes.items():
            job = self._active[job_id].job
            # What ended before what started, so that a live view reads in causal order.
            order = sorted(
                changes.tasks, key=lambda n: (job.tasks[n].status is TaskStatus.RUNNING, job.tasks[n].number)
            )
            for name in order:
                task = job.tasks[name]
                path = str(self.spaces.log(job_id, task.number, task.executions)) if task.executions else None
                event = JobEvent(
                    job_id, task.status.value, task.name, task.node, path, job.owner, task.executions
                )
                for listener in self._listeners:
                    listener(event)
            if changes.job and self._told.get(job_id) is not job.status:
                self._told[job_id] = job.status
                for listener in self._listeners:
                    listener(JobEvent(job_id, job.status.value, owner=job.owner))

    def _notify_nodes(self, turn: _Turn) -> None:
        if not self._node_listeners:
            return
        for name in sorted(turn.nodes | turn.touched | {node for node, _ in turn.starts}):
            view = self._view(name) if name in self._nodes else None
            if view is None or self._told_nodes.get(name) == view:
                continue
            self._told_nodes[name] = view
            for listener in self._node_listeners:
                listener(view)
