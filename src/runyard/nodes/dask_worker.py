"""What runs inside a Dask worker: the runyard nodes it hosts for a ``dask`` node source (docs/dask.md).

The source registers :class:`RunyardNodes`, a worker plugin: on every worker of the cluster (those
there and those that join later) it starts a :class:`NodeHost`, which runs ``nodes_per_worker`` node
agents through :class:`LocalNodeSource` — a process per execution, kill, walltime, sandbox, selection
scripts, all as on the server's own host — and relays their events to the server with
``Worker.log_event`` on the source's topic. The server's commands come as Dask tasks pinned to this
worker (``run_execution``, ``kill_execution``, ``take_files``) or as ``Client.run`` calls (``adopt``,
``replay``, ``stop_host``).

An execution's paths are the server's: they are rewritten to folders of this worker (``localspace``,
the log, the data spaces, staged from the files that came with the request, unless the spaces are on a
shared file system). Its output is relayed as it grows, each chunk with its offset (so a chunk sent
twice is written once); what it left in its spaces goes back with its outcome. An outcome is held here
until the server cannot need it any more (the next run on that node, or a reconciliation that does not
name it): a server killed meanwhile gets it after its restart.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
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
        """Of the server's ``recorded`` executions (node, task id, execution), those still running or
        held here, with the server's paths; held outcomes it does not name are dropped."""
        wanted = {(task_id, execution) for _, task_id, execution in recorded}
        with self._lock:
            for node, held in list(self._held.items()):
                if (held.task_id, held.execution) not in wanted:
                    del self._held[node]
                    held.log.unlink(missing_ok=True)
            found = [*self._running.values(), *self._held.values()]
        return [
            {"node": e.node, "task_id": e.task_id, "execution": e.execution, "origin": e.origin}
            for e in found
            if (e.task_id, e.execution) in wanted
        ]

    def replay(self, executions: list[tuple[str, int]]) -> None:
        """Relay the output of ``executions`` again from its start, and the outcome of the ended ones."""
        wanted = set(executions)
        with self._lock:
            running = [e for key, e in self._running.items() if key in wanted]
            held = [e for e in self._held.values() if (e.task_id, e.execution) in wanted]
        for execution in running:
            with execution.lock:
                execution.sent = 0
        for execution in held:
            with execution.lock:
                execution.sent = 0
                self._relay_output(execution)
            self._send_done(execution)

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
        with self._lock:
            execution = self._running.pop((outcome.task_id, outcome.execution), None)
        if execution is None:
            return
        with execution.lock:
            self._relay_output(execution)
            if not self.options.shared_fs:
                try:
                    execution.files = self._outputs(execution)
                except (NodeError, OSError) as error:
                    outcome = dataclasses.replace(outcome, kind=OutcomeKind.FAULTY, error=str(error))
            execution.outcome = json.dumps(outcome_to_json(outcome))
        with self._lock:
            self._held[node] = execution
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
        self.worker.log_event(self.options.topic, message)


class RunyardNodes(WorkerPlugin):
    """Hosts a source's nodes on each worker; registering it again (a restarted server) keeps them."""

    def __init__(self, options: HostOptions) -> None:
        self.options = options

    def setup(self, worker: Worker) -> None:
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


# -- what the server calls (Dask tasks pinned to this worker, or Client.run) ----------------------


def run_execution(source: str, worker_id: str, node: str, spec: TaskSpec, files: Files) -> None:
    worker = get_worker()
    _host(source, worker, worker_id).run(node, spec, files)


def kill_execution(source: str, worker_id: str, node: str, task_id: str, execution: int) -> None:
    _host(source, get_worker(), worker_id).kill(node, task_id, execution)


def take_files(source: str, node: str, task_id: str, execution: int) -> Files:
    return _host(source, get_worker()).take_files(node, task_id, execution)


def adopt(source: str, recorded: list[tuple[str, str, int]], dask_worker: Worker) -> list[dict[str, Any]]:
    return _host(source, dask_worker).adopt(recorded)


def replay(source: str, executions: list[tuple[str, int]], dask_worker: Worker) -> None:
    _host(source, dask_worker).replay([(task_id, number) for task_id, number in executions])


def stop_host(source: str, dask_worker: Worker) -> None:
    with _hosts_lock:
        host = _hosts.pop((source, dask_worker.address), None)
    if host is not None:
        host.stop()
