"""The scheduler's driver: one thread around the deterministic core (:mod:`runyard.scheduler.core`).

Each turn drains every queued input (node reports, user commands), reads the clock once, reads what
the core needs from files (the tail of an ended execution's output), lets the core decide, writes
everything the turn changed (new jobs included) in ONE transaction, appends the turn to the event log
(:mod:`runyard.scheduler.journal`), and only then acts: builds each started execution's spec (the spec
hooks read the vault, the catalog, the users: outside the write transaction, after the start is
recorded) and starts it, kills, drops logs, answers callers, tells listeners. A start that cannot be
made comes back to the core as an event.

At start the thread's first work is recovery: it starts a new file of the event log (a snapshot of the
jobs the store holds as alive), puts the executions the store records as running to the node source
(``NodeSource.reconcile``, on a helper thread: it may wait ``RECONCILE_TIMEOUT`` for nodes that do
not answer) while it answers reads, then turns ``Recovered``: those the source still runs are
adopted, the others are lost (re-run per the node-lost rule). Commands, submissions and node reports
sent meanwhile wait for that turn; ``Scheduler.recovered`` is done once it is stored.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa

from runyard.errors import InvalidTransitionError, NodeError, RunyardError, SchedulerError, UnknownJobError
from runyard.formats.mapping import from_mapping, to_mapping
from runyard.model import JobStatus, Priority, TaskStatus
from runyard.nodes.protocol import (
    NodeDown,
    NodeEvent,
    NodeRemoved,
    NodeSource,
    NodeUp,
    OutcomeKind,
    RecordedExecution,
    TaskDone,
    TaskSpec,
    TaskStarted,
)
from runyard.scheduler import events as ev
from runyard.scheduler.core import Core, JobNotAlive, Start, Turn
from runyard.scheduler.journal import EventLog, snapshot_line
from runyard.scheduler.rules import Rules
from runyard.scheduler.specs import Spaces, build_spec
from runyard.scheduler.state import JobState
from runyard.settings import Settings
from runyard.store import jobs as store
from runyard.store import schema
from runyard.store.node_settings import NodeSetting, load_node_settings, save_node_setting

log = logging.getLogger(__name__)
T = TypeVar("T")

RECONCILE_TIMEOUT = 60.0
"""Seconds a start waits for node sources to say which recorded executions still run."""

EVENT_LOG = "events.jsonl"
"""The event log's file in the data folder."""

SNAPSHOT_CHUNK = 500
"""Jobs whose execution records one statement of a snapshot reads."""

HOLD_CONNECTION = 1.0
"""Seconds the scheduler thread keeps its store connection while no input comes: back to back turns
reuse it (a pool checkout and return cost more than a small turn's statements), an idle scheduler
gives it back (a held connection could go stale: the pool checks one it hands out)."""


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
    event: ev.Command | ev.Submitted
    future: Future[Any] = field(default_factory=Future)


@dataclass
class _Reconciled:
    """Queued by the reconciliation's helper thread once the node sources answered (or failed)."""

    adopted: Future[list[RecordedExecution]]


@dataclass
class _Query:
    """A read of the core's state on its thread, between turns (not an event: nothing changes)."""

    read: Callable[[], Any]
    future: Future[Any] = field(default_factory=Future)


_Item = NodeEvent | ev.StartFailed | _Command | _Query | _Reconciled


class Scheduler:
    def __init__(
        self,
        engine: sa.Engine,
        node_source: NodeSource,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        spec_hooks: tuple[SpecHook, ...] = (),
        event_log: bool = True,
    ) -> None:
        self.engine = engine
        self.node_source = node_source
        self.settings = settings
        self.clock = clock
        self.spaces = Spaces(settings.data_dir, settings.data_space_roots)
        self.core = Core(Rules.of(settings))
        self.event_log_path = settings.data_dir / EVENT_LOG if event_log else None
        self._log = (
            EventLog(self.event_log_path, settings.event_log_max_bytes) if self.event_log_path else None
        )
        self.recovered: Future[None] = Future()
        """Done once the start's ``Recovered`` turn is stored (what the nodes still run adopted, the rest
        lost): inputs sent before are handled after it. Failed if the scheduler stopped before."""
        self._resumed: list[JobState] = []  # the alive jobs of the store at start
        self._stored_settings: dict[str, NodeSetting] = {}  # the node settings of the store at start
        self._held: list[_Item] = []  # inputs queued during recovery, handled after it
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._done: dict[int, threading.Event] = {}  # of each alive job: set when it ends
        self._spec_hooks = spec_hooks
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
        self._connection: sa.Connection | None = None  # held between busy turns (``HOLD_CONNECTION``)

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Load every unfinished job, start the nodes and the thread, and return at once: the thread
        first recovers (see :attr:`recovered`); commands sent meanwhile wait for it, reads do not."""
        with self.engine.connect() as connection:
            self._stored_settings = load_node_settings(connection)
            jobs = [
                store.load_job(connection, job_id, from_mapping) for job_id in store.alive_job_ids(connection)
            ]
        self._resumed = [job for job in jobs if job is not None]
        self.core.load(self._resumed)
        self._done = {job.id: threading.Event() for job in self._resumed}
        self.node_source.start(self._on_node_event)
        self._thread.start()

    def _recover(self) -> bool:
        """The thread's first work: a new file of the event log, the node sources' reconciliation (on a
        helper thread, reads answered meanwhile, other inputs held in ``_held``), the ``Recovered`` turn.
        False if the scheduler was stopped meanwhile."""
        if self._log is not None:
            self._log.rotate(self._snapshot())
        recorded = self.core.running()
        adopted: Future[list[RecordedExecution]] = Future()

        def reconcile() -> None:
            try:
                adopted.set_result(self.node_source.reconcile(recorded, RECONCILE_TIMEOUT))
            except BaseException as error:  # the scheduler thread raises it
                adopted.set_exception(error)
            self._queue.put(_Reconciled(adopted))

        threading.Thread(target=reconcile, name="runyard-reconcile", daemon=True).start()
        while not isinstance(item := self._queue.get(), _Reconciled):
            if item is None:
                return False
            if isinstance(item, _Query):
                self._answer([item])
            else:
                self._held.append(item)
        kept = adopted.result()
        outputs = {r.task_id: self._output(r.task_id, r.execution) for r in recorded if r not in kept}
        configured = {node: list(tokens) for node, tokens in self.settings.node_tokens.items()}
        self._turn([ev.Recovered(configured, self._stored_settings, self.core.rules, list(kept), outputs)])
        for job in self._resumed:
            log.info("resumed job %s (%s)", job.id, job.status)
        self._resumed = []
        self.recovered.set_result(None)
        return True

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._release_connection()
        self.node_source.stop()
        if self._log is not None:
            self._log.close()

    def add_listener(self, listener: Callable[[JobEvent], None]) -> None:
        self._listeners.append(listener)

    def add_node_listener(self, listener: Callable[[NodeView], None]) -> None:
        """Call ``listener(view)`` on the scheduler thread after a stored change of a node's view."""
        self._node_listeners.append(listener)

    # -- commands (any thread) --------------------------------------------------------------

    def submit_later(self, job: JobState) -> Future[JobState]:
        """Store a prepared job (see ``submission.prepare_job``): the future is answered once it is
        stored, with the job, whose ``id`` is then set."""
        return self._send(
            ev.Submitted(job, to_mapping(job.workflow))
        )  # mapped here, not on the scheduler thread

    def alive_job_ids(self) -> list[int]:
        return sorted(self._done)

    def wait(self, job_id: int, timeout: float | None = None) -> JobStatus:
        """Block until the job is no longer alive (or ``timeout``); returns its status."""
        done = self._done.get(job_id)
        if done is not None:
            done.wait(timeout)
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
        self._call(ev.KillJob(job_id))

    def pause_job(self, job_id: int) -> None:
        self._call(ev.PauseJob(job_id))

    def resume_job(self, job_id: int) -> None:
        self._call(ev.ResumeJob(job_id))

    def kill_task(self, job_id: int, task: str) -> None:
        self._call(ev.KillTask(job_id, task))

    def pause_task(self, job_id: int, task: str) -> None:
        self._call(ev.PauseTask(job_id, task))

    def resume_task(self, job_id: int, task: str) -> None:
        self._call(ev.ResumeTask(job_id, task))

    def restart_task(self, job_id: int, task: str) -> None:
        """Give an IN_ERROR task (``onTaskError="suspendTask"``) a new set of executions."""
        self._call(ev.RestartTask(job_id, task))

    def set_priority(self, job_id: int, priority: Priority) -> None:
        self._call(ev.SetPriority(job_id, priority))

    def remove_job(self, job_id: int) -> None:
        """Delete an ended job, its tasks, executions and logs."""
        self.status(job_id)  # raises UnknownJobError (only this thread's turns delete jobs)
        self._call(ev.RemoveJob(job_id))

    # -- nodes (any thread) ---------------------------------------------------------------

    def nodes(self) -> list[NodeView]:
        return self._read(lambda: [self._view(name) for name in sorted(self.core.nodes)])

    def lock_node(self, node: str, by: str) -> None:
        """A locked node finishes its current task and takes no other until unlocked."""
        self._call(ev.LockNode(node, by))

    def unlock_node(self, node: str) -> None:
        self._call(ev.UnlockNode(node))

    def add_node_token(self, node: str, token: str) -> None:
        self._call(ev.AddNodeToken(node, token))

    def remove_node_token(self, node: str, token: str) -> None:
        """Tokens given at start (``Settings.node_tokens``) cannot be removed at run time."""
        self._call(ev.RemoveNodeToken(node, token))

    def _view(self, name: str) -> NodeView:
        core = self.core
        info = core.nodes[name]
        setting = core.settings.get(name, NodeSetting())
        lease = core.leases.get(name)
        job_lease = lease if lease is not None and not lease.orphan else None
        state = "down" if not info.alive else "busy" if lease else "locked" if setting.locked_by else "free"
        active = core.active.get(job_lease.job_id) if job_lease else None
        return NodeView(
            name=name,
            source=info.source,
            host=info.host,
            url=info.url,
            state=state,
            locked=setting.locked_by is not None,
            locked_by=setting.locked_by,
            locked_at=setting.locked_at,
            tokens=tuple(sorted(core.tokens.get(name, frozenset()))),
            job_id=job_lease.job_id if job_lease else None,
            task=job_lease.task if job_lease else None,
            owner=active.job.owner if active is not None else None,
        )

    # -- internals ----------------------------------------------------------------------------

    def _on_node_event(self, event: NodeEvent) -> None:
        """A node source's report (any thread). A start is not queued unless awaited: the execution is
        RUNNING since its dispatch, and a wake-up of the scheduler thread per execution for nothing
        costs CPU."""
        if not isinstance(event, TaskStarted) or event.awaited:
            self._queue.put(event)

    def _store_connection(self) -> sa.Connection:
        if self._connection is None or self._connection.closed or self._connection.invalidated:
            self._release_connection()
            self._connection = self.engine.connect()
        return self._connection

    def _release_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _call(self, command: ev.Command) -> Any:
        return self._send(command).result()

    def _send(self, event: ev.Command | ev.Submitted) -> Future[Any]:
        """Queue a command for the scheduler thread; its future is answered after the turn's commit."""
        self._check_running()
        command = _Command(event)
        self._queue.put(command)
        return command.future

    def _read(self, read: Callable[[], T]) -> T:
        self._check_running()
        query = _Query(read)
        self._queue.put(query)
        return query.future.result()  # type: ignore[no-any-return]

    def _check_running(self) -> None:
        if self._broken is not None:
            raise self._broken
        if not self._thread.is_alive():
            raise SchedulerError("the scheduler is not running")

    def _run(self) -> None:
        try:
            if not self._recover():
                self._broken = SchedulerError("the scheduler stopped before it recovered")
                self._fail_pending()
                return
            held, self._held = self._held, []
            if held:
                self._turn(held)
            while True:
                items = self._next_items()
                if items is None:
                    return
                self._turn(items)
        except Exception as error:
            # The store and memory may now disagree: stop rather than guess; a restart recovers.
            log.exception("the scheduler stopped on an unexpected error")
            with contextlib.suppress(Exception):
                self._release_connection()
            self._broken = SchedulerError(f"the scheduler stopped on an unexpected error: {error!r}")
            for done in self._done.values():
                done.set()
            self._fail_pending()

    def _fail_pending(self, pending: list[Future[Any]] | None = None) -> None:
        broken = self._broken or SchedulerError("stopped")
        if not self.recovered.done():
            self.recovered.set_exception(broken)
        held, self._held = self._held, []
        pending = (pending or []) + [item.future for item in held if isinstance(item, _Command | _Query)]
        for future in pending:
            if not future.done():
                future.set_exception(broken)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Command | _Query):
                item.future.set_exception(broken)

    def _next_items(self) -> list[_Item] | None:
        wake = self.core.next_wake()
        timeout = max(0.0, wake - self.clock()) if wake is not None else None
        items: list[_Item] = []
        try:
            first = self._queue.get(
                timeout=HOLD_CONNECTION if timeout is None else min(timeout, HOLD_CONNECTION)
            )
        except queue.Empty:
            self._release_connection()  # idle: the connection goes back to the pool
            if timeout is not None and timeout <= HOLD_CONNECTION:
                return items
            try:
                first = self._queue.get(timeout=None if timeout is None else timeout - HOLD_CONNECTION)
            except queue.Empty:
                return items
        while True:
            if first is None:
                return None
            items.append(first)
            try:
                first = self._queue.get_nowait()
            except queue.Empty:
                return items

    def _turn(self, items: Sequence[_Item | ev.Event]) -> None:
        """One turn: the core's decision on ``items``, stored, logged, then acted on."""
        inputs: list[ev.Event] = []
        futures: dict[int, Future[Any]] = {}
        queries: list[_Query] = []
        for item in items:
            if isinstance(item, _Query):
                queries.append(item)
                continue
            event = self._input(item)
            if event is None:
                continue
            if isinstance(item, _Command):
                futures[len(inputs)] = item.future
            inputs.append(event)
        if items and not inputs:  # reads alone: no turn
            self._answer(queries)
            return
        now = self.clock()
        submitted = [(e.job, e.workflow) for e in inputs if isinstance(e, ev.Submitted)]
        try:
            connection = self._store_connection()
            with connection.begin():
                store.insert_jobs(connection, submitted)
                line = self._log.line(now, inputs) if self._log is not None else ""  # ids set, jobs untouched
                turn = self.core.handle(inputs, now)
                self._store(connection, turn)
        except BaseException:
            self._fail_pending(list(futures.values()) + [q.future for q in queries])
            raise
        if self._log is not None:
            self._log.append(line)
        self._act(turn, inputs, futures)
        self._answer(queries)
        if self._log is not None and self._log.full:  # between turns, the turn's line written
            self._log.rotate(self._snapshot())

    def _snapshot(self) -> str:
        """The event log's snapshot line of the core now, with the execution records the store holds of
        its alive jobs (the core keeps none: they are written when a lease closes)."""
        ids = sorted(self.core.active)
        records: dict[int, list[store.ExecutionRecord]] = {}
        table = schema.executions
        connection = self._store_connection()
        with connection.begin():
            for chunk in (ids[i : i + SNAPSHOT_CHUNK] for i in range(0, len(ids), SNAPSHOT_CHUNK)):
                rows = connection.execute(
                    sa.select(table)
                    .where(table.c.job_id.in_(chunk))
                    .order_by(table.c.job_id, table.c.task_number, table.c.execution)
                ).mappings()
                for row in rows:
                    record = store.ExecutionRecord(
                        row["task_number"], row["execution"], row["node"], row["outcome"],
                        row["started_at"], row["finished_at"], row["output"], row["error"],
                    )  # fmt: skip
                    records.setdefault(row["job_id"], []).append(record)
        return snapshot_line(self.core, records)

    def _input(self, item: _Item | ev.Event) -> ev.Event | None:
        """The core's input for a queued item, with what it needs read from files."""
        if isinstance(item, _Command):
            return item.event
        if isinstance(item, TaskDone):
            outcome = item.outcome
            kept = outcome.kind is not OutcomeKind.NOT_SELECTED
            return ev.Ended(
                item.node, outcome, self._output(outcome.task_id, outcome.execution) if kept else ""
            )
        if isinstance(item, NodeDown | NodeRemoved):
            lease = self.core.leases.get(item.node)
            output = self._output(lease.task_id, lease.execution) if lease is not None else ""
            return ev.NodeLeft(item.node, item.reason, isinstance(item, NodeRemoved), output)
        if isinstance(item, NodeUp):
            return ev.Joined(item.node)
        if isinstance(item, TaskStarted):  # awaited (the others are not queued)
            return ev.Began(item.node, item.task_id, item.execution)
        if isinstance(item, ev.Event):
            return item
        return None

    def _output(self, task_id: str, execution: int) -> str:
        """The end of an execution's output file (at most ``max_output_bytes``)."""
        job_id, _, number = task_id.partition("t")
        path = self.spaces.log_name(int(job_id), int(number), execution)
        try:
            with open(path, "rb") as f:
                size = f.seek(0, 2)
                f.seek(max(0, size - self.settings.max_output_bytes))
                return f.read().decode("utf-8", "replace")
        except (FileNotFoundError, ValueError):
            return ""

    def _store(self, connection: sa.Connection, turn: Turn) -> None:
        for job_id, changes in turn.changes.items():
            job = turn.jobs[job_id]
            grown = any(not job.tasks[name].stored for name in changes.tasks)
            store.save_tasks(connection, job, changes.tasks)
            if changes.job or grown:  # new instances move the job's next_number
                store.save_job(connection, job)
        for job_id, records in turn.executions.items():
            store.record_executions(connection, job_id, records)
        for job_id in turn.removed:
            store.delete_job(connection, job_id)
        for node in turn.nodes:
            save_node_setting(connection, node, self.core.settings.get(node))

    def _act(self, turn: Turn, inputs: list[ev.Event], futures: dict[int, Future[Any]]) -> None:
        self._start(turn.starts)
        for job_id, changes in turn.changes.items():
            for kill in changes.kills:
                task_id = turn.jobs[job_id].tasks[kill.task].task_id(job_id)
                try:
                    self.node_source.kill(kill.node, task_id, kill.execution)
                except NodeError as error:  # its node is gone: so is the execution
                    log.warning("kill of %s (%s): %s", task_id, kill.execution, error)
        for job_id, number, execution in turn.dropped_logs:
            self.spaces.log(job_id, number, execution).unlink(missing_ok=True)
        for job_id in turn.removed:
            shutil.rmtree(self.spaces.root / "logs" / str(job_id), ignore_errors=True)
        for note in turn.notes:
            log.error(note)
        for event in inputs:
            if isinstance(event, ev.Submitted):
                self._done[event.job.id] = threading.Event()
        for index, future in futures.items():
            event = inputs[index]
            if isinstance(event, ev.Submitted):
                future.set_result(event.job)
                continue
            result, failure = turn.replies[index]
            if isinstance(failure, JobNotAlive):
                failure = self._not_alive(failure.job_id)
            if failure is not None:
                future.set_exception(failure)
            else:
                future.set_result(result)
        self._notify(turn)
        self._notify_nodes(turn)
        for job_id in turn.ended:
            done = self._done.pop(job_id, None)
            if done is not None:
                done.set()
            self._told.pop(job_id, None)

    def _not_alive(self, job_id: int) -> RunyardError:
        try:
            status = self.status(job_id)
        except UnknownJobError as error:
            return error
        return InvalidTransitionError(f"job {job_id} is {status}: it has ended")

    def _start(self, starts: list[Start]) -> None:
        """Build each execution's spec (hooks included) and hand it to its node; a failure comes back
        as an event (the start is already recorded)."""
        if not starts:
            return
        connection = self.engine.connect() if self._spec_hooks else None
        try:
            for start in starts:
                spec = self._spec(start, connection)
                if spec is None:
                    continue
                try:
                    self.node_source.run(start.node, spec)
                except NodeError as error:
                    self._queue.put(
                        ev.StartFailed(
                            start.node, start.job_id, start.task, start.execution, str(error), lost=True
                        )
                    )
        finally:
            if connection is not None:
                connection.close()

    def _spec(self, start: Start, connection: sa.Connection | None) -> TaskSpec | None:
        active = self.core.active[start.job_id]
        job, task = active.job, active.job.tasks[start.task]
        try:
            info, tokens = self.core.nodes[start.node], self.core.tokens.get(start.node, frozenset())
            spec = build_spec(job, active.graph, task, info, self.spaces, self._urls, tokens)
            if spec.walltime is not None and spec.walltime > self.settings.max_walltime:
                limit = f"{self.settings.max_walltime:g} s (max_walltime)"
                raise SchedulerError(f"walltime of {spec.walltime:g} s, over the limit of {limit}")
            for hook in self._spec_hooks:
                assert connection is not None
                spec = hook(connection, job, spec)
        except RunyardError as error:
            self._queue.put(ev.StartFailed(start.node, start.job_id, start.task, start.execution, str(error)))
            return None
        return spec

    @staticmethod
    def _answer(queries: list[_Query]) -> None:
        for query in queries:
            try:
                query.future.set_result(query.read())
            except Exception as error:
                query.future.set_exception(error)

    def _notify(self, turn: Turn) -> None:
        if not self._listeners:
            return
        for job_id, changes in turn.changes.items():
            job = turn.jobs[job_id]
            # What ended before what started, so that a live view reads in causal order.
            order = sorted(
                changes.tasks, key=lambda n: (job.tasks[n].status is TaskStatus.RUNNING, job.tasks[n].number)
            )
            for name in order:
                task = job.tasks[name]
                path = self.spaces.log_name(job_id, task.number, task.executions) if task.executions else None
                event = JobEvent(
                    job_id, task.status.value, task.name, task.node, path, job.owner, task.executions
                )
                for listener in self._listeners:
                    listener(event)
            if changes.job and self._told.get(job_id) is not job.status:
                self._told[job_id] = job.status
                for listener in self._listeners:
                    listener(JobEvent(job_id, job.status.value, owner=job.owner))

    def _notify_nodes(self, turn: Turn) -> None:
        if not self._node_listeners:
            return
        for name in sorted(turn.nodes | turn.touched):
            view = self._view(name) if name in self.core.nodes else None
            if view is None or self._told_nodes.get(name) == view:
                continue
            self._told_nodes[name] = view
            for listener in self._node_listeners:
                listener(view)
