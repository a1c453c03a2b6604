"""What runs inside a Dask worker: the runyard nodes it hosts for a ``dask`` node source (docs/dask.md).

The source registers :class:`RunyardNodes`, a worker plugin: on every worker of the cluster (those
there and those that join later) it starts a :class:`NodeHost`, which runs ``nodes_per_worker`` node
agents through :class:`LocalNodeSource` — a process per execution, kill, walltime, sandbox, selection
scripts, all as on the server's own host. The nodes' own events (up, down) go to the server with
``Worker.log_event`` on the source's topic (the server learns of the workers this way); the server's
requests (run, kill, the files of an ended execution, adoption after its restart) and its calls for
the executions' events (started, output, done) come straight to this worker's comm, to the handler the
plugin registers (:func:`handle_call`), skipping the Dask scheduler and its batching. A server that
cannot reach this worker sends the same requests as Dask tasks pinned to it (:func:`serve`), the first
of them ``relay``: from then on the executions' events go by ``Worker.log_event`` too, still numbered.
``stop_host`` is a ``Client.run`` call.

The executions' events wait in an outbox, each numbered (one sequence per worker and source), until
the server acknowledges them: its next call for events names the last one it took, and those up to it
are dropped. A server killed meanwhile takes them no more; the one that starts after it reconciles
(``adopt``): the executions it names are relayed to it again from their start, numbered anew, and it
ignores their events numbered before (their ``floor``).

An execution's paths are the server's: they are rewritten to folders of this worker (``localspace``,
the log, the data spaces, staged from the files that came with the request, unless the spaces are on a
shared file system). Its output is relayed as it grows, each chunk with its offset (so a chunk sent
twice is written once); what it left in its spaces goes back with its outcome. An outcome is held here
until the server cannot need it any more (the next run on that node, or a reconciliation that does not
name it), whether or not its event was acknowledged: a server killed meanwhile, even after it took the
event and before it stored the outcome, gets it after its restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import MethodType
from typing import Any
from urllib.parse import urlparse

from distributed import Worker, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from runyard.errors import NodeError
from runyard.nodes.dask_spaces import (
    SPACES,
    WRITABLE,
    Files,
    Limits,
    Snapshot,
    changed_files,
    output_budget,
    snapshot,
    write_files,
)
from runyard.nodes.local import LocalNodeSource
from runyard.nodes.messages import outcome_to_json
from runyard.nodes.protocol import (
    NodeDown,
    NodeEvent,
    NodeUp,
    OutcomeKind,
    TaskDone,
    TaskOutcome,
    TaskSpec,
    TaskStarted,
)

#: Seconds between two looks at the logs of the running executions.
FOLLOW_INTERVAL = 0.2
#: Bytes of output per relayed message.
CHUNK = 64 << 10
#: Seconds a server's call for events waits for one before it is answered with none.
POLL_WAIT = 1.0
#: Bytes of output past which an answer to a server's call for events takes no more (the rest follows).
POLL_BYTES = 4 << 20
#: The events of executions, which wait in the outbox for the server's calls (the others are logged).
EXECUTION_EVENTS = frozenset({"started", "output", "done"})
#: The worker's handler for the server's calls (``Worker.handlers``, see :func:`handle_call`).
HANDLER = "runyard_call"


@dataclass(frozen=True)
class HostOptions:
    """What the server asks of every worker's node host."""

    source: str
    nodes_per_worker: int = 1
    shared_fs: bool = False
    sandbox: bool = False  # the server contains tasks: this worker's folders are hidden from them
    limits: Limits = field(default_factory=Limits)
    max_output_bytes: int = 16 << 20  # relayed per execution; the rest stays in the worker's copy

    @property
    def topic(self) -> str:
        return f"runyard-{self.source}"


@dataclass
class _Execution:
    node: str
    task_id: str
    execution: int
    scope: Path  # the folders of the execution's job on its node (see ``NodeHost.run``)
    log: Path
    origin: dict[str, Any]  # the server's paths (log, spaces): for a server that restarts
    staged: dict[str, Snapshot] = field(default_factory=dict)  # space -> its files as staged
    sent: int = 0  # bytes of output relayed
    outcome: str | None = None  # once ended: the outcome, as JSON
    files: Files = field(default_factory=dict)  # once ended: what goes back to the server's spaces
    lock: threading.Lock = field(default_factory=threading.Lock)


class NodeHost:
    """The nodes of one source on one worker."""

    def __init__(self, worker: Worker, options: HostOptions) -> None:
        self.worker = worker
        self.options = options
        scratch = Path(worker.local_directory)
        self.base = scratch / f"runyard-{options.source}"
        host = urlparse(worker.address).hostname or "localhost"
        self.nodes = LocalNodeSource(
            options.nodes_per_worker,
            self.base / "nodes",
            name=f"{options.source}-{_label(worker)}",
            host_name=host,
            private_dirs=(scratch,) if options.sandbox else (),
            scheme="dask",
        )
        self._running: dict[tuple[str, int], _Execution] = {}
        self._held: dict[str, _Execution] = {}  # node -> ended execution, until the server is done with it
        self._outbox: list[tuple[int, dict[str, Any]]] = []  # executions' events, numbered, not acknowledged
        self._numbered = 0  # the number of the last event put in the outbox
        self._ready = asyncio.Event()  # set on the worker's loop when the outbox gets an event
        self._relay = False  # the server cannot call: the executions' events go by the Dask scheduler
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        threading.Thread(target=self.nodes.start, args=(self._on_node_event,), daemon=True).start()
        threading.Thread(target=self._follow, name="runyard-dask-logs", daemon=True).start()

    def announce(self) -> None:
        """Tell the server of every node that is up (a server that just connected knows none)."""
        for info in self.nodes.nodes():
            if info.alive:
                self._up(info.name, info.host, info.url)

    def run(self, node: str, spec: TaskSpec, files: Files) -> None:
        """Run ``spec`` on ``node``. Its folders are those of its job on the node, kept from one
        execution to the next (emptied, never made anew): a sandboxed node shows a job's folders to the
        process that forks its executions once, when it serves the job's first one."""
        with self._lock:
            key = (spec.task_id, spec.execution)
            if key in self._running or any((e.task_id, e.execution) == key for e in self._held.values()):
                return  # a request sent again (its answer was lost): the node has it already
            previous = self._held.pop(node, None)  # a run on the node: the server is done with it
        scope = self.base / "jobs" / _safe(f"{spec.job_id}-{node}")
        if previous is not None:
            previous.log.unlink(missing_ok=True)
            if previous.scope != scope:
                shutil.rmtree(previous.scope, ignore_errors=True)
        log = scope / "logs" / f"{_safe(spec.task_id)}-{spec.execution}.log"
        for folder in (log.parent, scope / "local"):
            folder.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        account = None if spec.account is None else [spec.account.uid, spec.account.gid, spec.account.groups]
        origin = {"log_path": spec.log_path, "account": account, **{s: getattr(spec, s) for s in SPACES}}
        execution = _Execution(node, spec.task_id, spec.execution, scope, log, origin)
        local = self._localize(spec, execution, files)
        with self._lock:
            self._running[(spec.task_id, spec.execution)] = execution
        try:
            self.nodes.run(node, local)
        except NodeError as error:
            self._ended(node, TaskOutcome(spec.task_id, spec.execution, OutcomeKind.FAULTY, error=str(error)))

    def kill(self, node: str, task_id: str, execution: int) -> None:
        self.nodes.kill(node, task_id, execution)

    def take_files(self, node: str, task_id: str, execution: int) -> Files:
        held = self._held.get(node)
        if held is None or (held.task_id, held.execution) != (task_id, execution):
            return {}
        return held.files

    def adopt(self, recorded: list[tuple[str, str, int]]) -> list[dict[str, Any]]:
        """Of a restarted server's ``recorded`` executions (node, task id, execution), those still running
        or held here, with the server's paths; held outcomes it does not name are dropped. The events of
        those adopted are relayed again, numbered from their ``floor`` (their output from its start, the
        outcome of the ended ones): the server ignores those numbered before."""
        wanted = {(task_id, execution) for _, task_id, execution in recorded}
        with self._lock:
            for node, held in list(self._held.items()):
                if (held.task_id, held.execution) not in wanted:
                    del self._held[node]
                    held.log.unlink(missing_ok=True)
            found = [
                e
                for e in (*self._running.values(), *self._held.values())
                if (e.task_id, e.execution) in wanted
            ]
        adopted = []
        for execution in found:
            with execution.lock:  # nothing else relays it meanwhile (see ``_ended``, ``_follow``)
                with self._lock:
                    floor = self._numbered + 1
                execution.sent = 0
                if execution.outcome is not None:  # ended: relayed here, else as it runs and when it ends
                    self._relay_output(execution)
                    self._send_done(execution)
            key = {"node": execution.node, "task_id": execution.task_id, "execution": execution.execution}
            adopted.append({**key, "origin": execution.origin, "floor": floor})
        return adopted

    async def events(self, after: int) -> list[tuple[int, dict[str, Any]]]:
        """The outbox's events numbered past ``after`` (those up to it arrived: dropped), waiting up to
        ``POLL_WAIT`` for one. Runs on the worker's loop."""
        with self._lock:
            self._relay = False  # a server calls: the events wait for it
            self._outbox = [item for item in self._outbox if item[0] > after]
            waiting = not self._outbox
            if waiting:
                self._ready.clear()
        if waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), POLL_WAIT)
        taken: list[tuple[int, dict[str, Any]]] = []
        size = 0
        with self._lock:
            for item in self._outbox:
                if taken and size > POLL_BYTES:
                    break
                taken.append(item)
                size += len(item[1].get("data", b""))
        return taken

    def stop(self) -> None:
        self._stopped.set()
        self.nodes.stop()
        shutil.rmtree(self.base / "jobs", ignore_errors=True)

    # -- inside ---------------------------------------------------------------------------

    def _localize(self, spec: TaskSpec, execution: _Execution, files: Files) -> TaskSpec:
        """``spec`` with this worker's folders; the data spaces staged unless they are shared."""
        services = self.base / "services" / _safe(spec.owner)
        services.mkdir(parents=True, exist_ok=True)
        changes: dict[str, Any] = {
            "localspace": str(execution.scope / "local" / execution.log.stem),
            "log_path": str(execution.log),
            "services_dir": str(services),
        }
        if not self.options.shared_fs:
            changes["source_dir"] = None
            for space in SPACES:
                if not getattr(spec, space):
                    continue
                staged = execution.scope / space
                staged.mkdir(exist_ok=True)
                _empty(staged)
                if spec.account is not None and os.geteuid() == 0:  # the sandbox lets it write only there
                    os.chown(staged, spec.account.uid, spec.account.gid)
                write_files(staged, files.get(space, {}), spec.account)
                execution.staged[space] = snapshot(staged)
                changes[space] = str(staged)
        return dataclasses.replace(spec, **changes)

    def _on_node_event(self, event: NodeEvent) -> None:
        if isinstance(event, NodeUp):
            self._up(event.node.name, event.node.host, event.node.url)
        elif isinstance(event, NodeDown):
            self._emit({"op": "down", "node": event.node, "reason": event.reason})
        elif isinstance(event, TaskStarted):
            self._emit(
                {"op": "started", "node": event.node, "task_id": event.task_id, "execution": event.execution}
            )
        elif isinstance(event, TaskDone):
            self._ended(event.node, event.outcome)

    def _up(self, node: str, host: str, url: str) -> None:
        worker = {"worker": self.worker.address, "worker_id": self.worker.id}
        self._emit({"op": "up", "node": node, "host": host, "url": url, **worker})

    def _ended(self, node: str, outcome: TaskOutcome) -> None:
        with self._lock:  # running or held at any time: a reconciliation finds it
            execution = self._running.pop((outcome.task_id, outcome.execution), None)
            if execution is None:
                return
            self._held[node] = execution
        with execution.lock:
            self._relay_output(execution)
            if not self.options.shared_fs:
                try:
                    execution.files = self._outputs(execution)
                except (NodeError, OSError) as error:
                    outcome = dataclasses.replace(outcome, kind=OutcomeKind.FAULTY, error=str(error))
            execution.outcome = json.dumps(outcome_to_json(outcome))
            self._send_done(execution)

    def _outputs(self, execution: _Execution) -> Files:
        budget = output_budget(self.options.limits, execution.task_id)
        files: Files = {}
        for space in WRITABLE:
            if space in execution.staged:
                found = changed_files(execution.scope / space, execution.staged[space], budget)
                if found:
                    files[space] = found
        return files

    def _send_done(self, execution: _Execution) -> None:
        self._emit(
            {
                "op": "done",
                "node": execution.node,
                "task_id": execution.task_id,
                "execution": execution.execution,
                "outcome": execution.outcome,
                "files": bool(execution.files),
            }
        )

    def _follow(self) -> None:
        while not self._stopped.wait(FOLLOW_INTERVAL):
            with self._lock:
                running = list(self._running.values())
            for execution in running:
                with execution.lock:
                    self._relay_output(execution)

    def _relay_output(self, execution: _Execution) -> None:
        """Send what the execution printed since the last call (within ``max_output_bytes``)."""
        limit = self.options.max_output_bytes
        try:
            with execution.log.open("rb") as log:
                log.seek(execution.sent)
                while execution.sent < limit and (data := log.read(min(CHUNK, limit - execution.sent))):
                    at, execution.sent = execution.sent, execution.sent + len(data)
                    key = {"task_id": execution.task_id, "execution": execution.execution}
                    self._emit({"op": "output", **key, "at": at, "data": data})
        except FileNotFoundError:
            pass

    def _emit(self, message: dict[str, Any]) -> None:
        """Send ``message`` to the server: an execution's event through the outbox (:meth:`events`), a
        node's through the Dask scheduler."""
        if message["op"] not in EXECUTION_EVENTS:
            self.worker.log_event(self.options.topic, message)
            return
        with self._lock:
            self._numbered += 1
            if self._relay:  # sent in order (under the lock), not kept: nothing acknowledges them
                self.worker.log_event(self.options.topic, self._relayed(self._numbered, message))
                return
            self._outbox.append((self._numbered, message))
        self.worker.loop.add_callback(self._ready.set)

    def relay(self, after: int) -> None:
        """Send the executions' events by the Dask scheduler from now on (no server can call this
        worker): first those of the outbox numbered past ``after``, which the server has not taken."""
        with self._lock:
            self._relay = True
            for number, message in self._outbox:
                if number > after:
                    self.worker.log_event(self.options.topic, self._relayed(number, message))
            self._outbox = []

    def _relayed(self, number: int, message: dict[str, Any]) -> dict[str, Any]:
        return {**message, "number": number, "worker": self.worker.address, "worker_id": self.worker.id}


class RunyardNodes(WorkerPlugin):
    """Hosts a source's nodes on each worker; registering it again (a restarted server) keeps them."""

    def __init__(self, options: HostOptions) -> None:
        self.options = options

    def setup(self, worker: Worker) -> None:
        worker.handlers.setdefault(HANDLER, MethodType(handle_call, worker))
        key = (self.options.source, worker.address)
        with _hosts_lock:
            host = _hosts.get(key)
            if host is None:
                host = _hosts[key] = NodeHost(worker, self.options)
        host.announce()

    def teardown(self, worker: Worker) -> None:
        """Nothing: the nodes stop with ``stop_host`` or with the worker process (their channels close)."""


_hosts: dict[tuple[str, str], NodeHost] = {}
_hosts_lock = threading.Lock()


def _host(source: str, worker: Worker, worker_id: str | None = None) -> NodeHost:
    if worker_id is not None and worker.id != worker_id:
        raise NodeError(f"worker {worker.address} is not the one the node was on (it started again)")
    host = _hosts.get((source, worker.address))
    if host is None:
        raise NodeError(f"worker {worker.address} hosts no node of source {source}")
    return host


def _safe(name: str) -> str:
    """``name`` as one folder name."""
    return re.sub(r"[^\w.-]", "_", name)


def _empty(folder: Path) -> None:
    """Remove what ``folder`` holds (symbolic links themselves, never what they lead to)."""
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def _label(worker: Worker) -> str:
    """The worker in node names: its name if it was given one, else its host and port."""
    name = str(worker.name)
    if "://" in name:
        address = urlparse(name)
        name = f"{address.hostname}-{address.port}"
    return re.sub(r"[^\w.-]", "-", name)


# -- what the server calls (straight to the worker's comm, or Client.run) --------------------------


async def handle_call(
    worker: Worker, source: str, worker_id: str, call: str, args: list[Any]
) -> dict[str, Any]:
    """A call of the server, straight to this worker: ``events`` (:meth:`NodeHost.events`, waiting on
    the worker's loop), or ``run``, ``kill``, ``files``, ``adopt``, answered once done (in a thread: so
    that a kill never overtakes its run, the server sends them one at a time). The answer is
    ``{"value": ...}``, or ``{"error": reason}`` for a request this worker cannot serve."""
    try:
        host = _host(source, worker, worker_id)
        if call == "events":
            return {"value": await host.events(*args)}
        methods: dict[str, Callable[..., Any]] = {
            "run": host.run, "kill": host.kill, "files": host.take_files, "adopt": host.adopt
        }  # fmt: skip
        method = methods[call]
        return {"value": await asyncio.to_thread(method, *args)}
    except NodeError as error:
        return {"error": str(error)}


def serve(source: str, worker_id: str, call: str, args: list[Any]) -> dict[str, Any]:
    """What :func:`handle_call` does, as a Dask task pinned to this worker: for a server that cannot
    reach it (``relay`` switches its events to the Dask scheduler)."""
    try:
        host = _host(source, get_worker(), worker_id)
        methods: dict[str, Callable[..., Any]] = {
            "run": host.run, "kill": host.kill, "files": host.take_files, "adopt": host.adopt,
            "relay": host.relay,
        }  # fmt: skip
        return {"value": methods[call](*args)}
    except NodeError as error:
        return {"error": str(error)}


def stop_host(source: str, dask_worker: Worker) -> None:
    with _hosts_lock:
        host = _hosts.pop((source, dask_worker.address), None)
    if host is not None:
        host.stop()
