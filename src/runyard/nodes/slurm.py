"""The ``slurm`` node source: runyard nodes on Dask workers that dask-jobqueue's ``SLURMCluster`` starts as
SLURM jobs (docs/slurm.md), and nodes started for one ``NATIVE_SCHEDULER`` task each.

Regular nodes are a :class:`DaskNodeSource` over one ``SLURMCluster``: ``min_jobs`` worker jobs from the
start, one more (up to ``max_jobs``) whenever every node is busy, back to ``min_jobs`` once every node has
been idle for ``idle_release`` seconds.

Native nodes (``<source>-native-<i>``, ``native_slots`` of them) hold the tokens of
``runyard.nodes.native_scheduler``, so the scheduler gives them only tasks whose ``NATIVE_SCHEDULER`` names
this source or its type. A run there submits a SLURM job with the task's ``NATIVE_SCHEDULER_PARAMS`` (a
``SLURMCluster`` of its own, one job), runs the task on the node its worker hosts, and cancels the job once
the task ends: the task's events are reported under the native node's name.
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from runyard.errors import InvalidRequestError, NodeError, SchedulerError
from runyard.nodes import native_scheduler
from runyard.nodes.dask import DaskNodeSource
from runyard.nodes.protocol import (
    NodeDown,
    NodeEvent,
    NodeInfo,
    NodeRemoved,
    NodeUp,
    OutcomeKind,
    RecordedExecution,
    TaskDone,
    TaskOutcome,
    TaskSpec,
    TaskStarted,
)
from runyard.nodes.sources import SourceContext, parse_options

log = logging.getLogger(__name__)

#: Seconds between two looks at whether regular nodes are all busy or all idle.
SCALE_INTERVAL = 1.0
#: Seconds a native task waits for SLURM to start its job and the job's worker to host its node.
NATIVE_START_TIMEOUT = 300.0


class SlurmOptions(BaseModel):
    """The options of a ``[[node_sources]]`` table of type ``slurm``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    queue: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """The SLURM partition the jobs go to (the cluster's default partition if unset)."""
    cores: int = Field(1, ge=1, le=1024)
    """Cores of each worker job."""
    memory: str = Field("1GiB", pattern=r"^[0-9]+(\.[0-9]+)? ?[KMGT]i?B$")
    """Memory of each worker job, e.g. ``4GiB``."""
    walltime: str = Field("01:00:00", pattern=r"^([0-9]+-)?[0-9]{1,2}(:[0-9]{2}){0,2}$")
    """Walltime of each worker job (``[D-]HH:MM:SS``); a native task's ``--time`` overrides it."""
    job_extra_directives: list[str] = Field(default_factory=list, max_length=32)
    """More sbatch options for every job, as ``NATIVE_SCHEDULER_PARAMS`` allows them."""
    min_jobs: int = Field(1, ge=0, le=256)
    max_jobs: int = Field(1, ge=0, le=256)
    idle_release: float = Field(60.0, gt=0)
    """Seconds every regular node stays idle before the jobs beyond ``min_jobs`` end."""
    nodes_per_worker: int = Field(1, ge=1, le=64)
    native_slots: int = Field(2, ge=0, le=64)
    """``NATIVE_SCHEDULER`` tasks that may run at once, each in a SLURM job of its own."""
    shared_fs: bool = True
    """The data folder's paths are valid on the SLURM nodes (else data spaces travel with each run)."""
    interface: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,32}$")
    """The network interface the Dask scheduler and workers listen on, one the SLURM nodes share (e.g.
    ``ib0``; ``lo`` for a one-machine cluster); default: Dask's choice."""
    python: str | None = Field(None, pattern=r"^/[A-Za-z0-9_./+-]{1,255}$")
    """The Python with runyard on the SLURM nodes (default: the server's)."""

    @field_validator("job_extra_directives")
    @classmethod
    def _allowed(cls, directives: list[str]) -> list[str]:
        try:
            return [option for directive in directives for option in native_scheduler.parse_params(directive)]
        except SchedulerError as error:
            raise ValueError(str(error).replace(native_scheduler.PARAMS, "job_extra_directives")) from None


@dataclass
class _NativeRun:
    """One native task: its SLURM job's cluster and the node source over it, once submitted."""

    spec: TaskSpec
    cluster: Any = None
    hosted: DaskNodeSource | None = None
    killed: bool = False
    ended: threading.Event = field(default_factory=threading.Event)
    outcome: TaskOutcome | None = None


class SlurmNodeSource:
    """Nodes on SLURM jobs: a pool of regular nodes and ``native_slots`` native nodes."""

    def __init__(self, name: str, options: SlurmOptions, work_dir: Path, host: str, sandbox: bool) -> None:
        if options.max_jobs < options.min_jobs:
            raise InvalidRequestError(
                f"node source {name!r}: max_jobs ({options.max_jobs}) < min_jobs ({options.min_jobs})"
            )
        if options.min_jobs == 0 < options.max_jobs:  # the pool grows when its nodes are busy: never, from 0
            raise InvalidRequestError(
                f"node source {name!r}: min_jobs must be 1 at least when max_jobs is not 0 "
                "(max_jobs = 0: native nodes only)"
            )
        self.name = name
        self.options = options
        self.work_dir = work_dir
        self.sandbox = sandbox
        self.tokens = native_scheduler.source_tokens(name, "slurm")
        self._natives = {
            f"{name}-native-{number}": NodeInfo(
                f"{name}-native-{number}", name, host, f"slurm://{host}/{name}-native-{number}"
            )
            for number in range(1, options.native_slots + 1)
        }
        self._runs: dict[str, _NativeRun] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._pool_cluster: Any = None
        self._pool: DaskNodeSource | None = None
        self._busy: set[str] = set()  # regular nodes running a task
        self._jobs = options.min_jobs
        self._on_event: Callable[[NodeEvent], None] = lambda event: None

    @classmethod
    def from_config(cls, name: str, options: Mapping[str, Any], context: SourceContext) -> SlurmNodeSource:
        return cls(
            name,
            parse_options(SlurmOptions, options),
            context.nodes_dir / name,
            context.host_name,
            bool(context.private_dirs),
        )

    @property
    def held_tokens(self) -> dict[str, tuple[str, ...]]:
        """The tokens of the native nodes, by node name (the platform gives them to the scheduler)."""
        return {node: self.tokens for node in self._natives}

    # -- NodeSource -----------------------------------------------------------------------

    def start(self, on_event: Callable[[NodeEvent], None]) -> None:
        self._on_event = on_event
        if self.options.max_jobs > 0:
            self._pool_cluster = self._cluster("pool", [])
            self._pool = self._hosted(self.name, self._pool_cluster)
            self._pool.start(self._pool_event)
            self._pool_cluster.scale(jobs=self._jobs)
            threading.Thread(target=self._scale, name=f"runyard-{self.name}-scale", daemon=True).start()
        for info in self._natives.values():
            on_event(NodeUp(replace(info)))

    def nodes(self) -> list[NodeInfo]:
        pool = self._pool.nodes() if self._pool is not None else []
        return pool + [replace(info) for info in self._natives.values()]

    def run(self, node: str, spec: TaskSpec) -> None:
        if node not in self._natives:
            if self._pool is None:
                raise NodeError(f"no node {node!r} in node source {self.name!r}")
            with self._lock:
                self._busy.add(node)
            self._pool.run(node, spec)
            return
        with self._lock:
            if node in self._runs:
                raise NodeError(f"node {node} is already running task {self._runs[node].spec.task_id}")
            run = self._runs[node] = _NativeRun(spec)
        threading.Thread(target=self._native, args=(node, run), name=f"runyard-{node}", daemon=True).start()

    def kill(self, node: str, task_id: str, execution: int) -> None:
        if node not in self._natives:
            if self._pool is not None:
                self._pool.kill(node, task_id, execution)
            return
        with self._lock:
            run = self._runs.get(node)
            if run is None or (run.spec.task_id, run.spec.execution) != (task_id, execution):
                return
            run.killed = True
            hosted = run.hosted
        if hosted is not None:
            for info in hosted.nodes():
                hosted.kill(info.name, task_id, execution)

    def reconcile(self, recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        """Regular nodes' executions are the Dask source's to adopt; a native node's SLURM job ended with
        the server that owned it (its cluster closed), so its execution is gone."""
        if self._pool is None:
            return []
        return self._pool.reconcile([r for r in recorded if r.node not in self._natives], timeout)

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.killed = True
            self._close(run)
        if self._pool is not None:
            self._pool.stop()
        if self._pool_cluster is not None:
            self._pool_cluster.close()

    # -- regular nodes ---------------------------------------------------------------------

    def _pool_event(self, event: NodeEvent) -> None:
        if isinstance(event, TaskDone | NodeDown | NodeRemoved):
            with self._lock:
                self._busy.discard(event.node)
        self._on_event(event)

    def _scale(self) -> None:
        """One more job when every node is busy (up to ``max_jobs``); back to ``min_jobs`` after
        ``idle_release`` seconds with every node idle."""
        idle_since = time.monotonic()
        while not self._stopping.wait(SCALE_INTERVAL):
            assert self._pool is not None
            alive = [info.name for info in self._pool.nodes() if info.alive]
            with self._lock:
                busy = len(self._busy)
            jobs = self._jobs
            if busy:
                idle_since = time.monotonic()
            all_up = len(alive) >= jobs * self.options.nodes_per_worker  # no job still on its way
            if alive and all_up and busy >= len(alive) and jobs < self.options.max_jobs:
                jobs += 1
            elif (
                not busy
                and jobs > self.options.min_jobs
                and time.monotonic() - idle_since > self.options.idle_release
            ):
                jobs = self.options.min_jobs
            if jobs != self._jobs:
                log.info("node source %s: %d worker jobs (were %d)", self.name, jobs, self._jobs)
                self._jobs = jobs
                self._pool_cluster.scale(jobs=jobs)

    # -- native nodes ----------------------------------------------------------------------

    def _native(self, node: str, run: _NativeRun) -> None:
        """Submit the task's SLURM job, run the task on the node its worker hosts, cancel the job; the
        outcome is reported once the job is gone and the native node free again."""
        key = (run.spec.task_id, run.spec.execution)
        hosted_nodes: list[str] = []
        up = threading.Event()

        def relay(event: NodeEvent) -> None:
            if isinstance(event, NodeUp) and event.node.alive and not hosted_nodes:
                hosted_nodes.append(event.node.name)
                up.set()
            elif isinstance(event, TaskStarted):
                self._on_event(TaskStarted(node, event.task_id, event.execution))
            elif isinstance(event, TaskDone):
                run.outcome = event.outcome
                run.ended.set()

        try:
            params = native_scheduler.parse_params(
                run.spec.generic_information.get(native_scheduler.PARAMS, "")
            )
            with self._lock:
                if run.killed:
                    raise _Killed
                run.cluster = self._cluster(node, params)
                run.hosted = self._hosted(f"{node}-job", run.cluster, nodes_per_worker=1)
            run.hosted.start(relay)
            run.cluster.scale(jobs=1)
            deadline = time.monotonic() + NATIVE_START_TIMEOUT
            while not up.wait(0.2):
                if run.killed:
                    raise _Killed
                if time.monotonic() > deadline:
                    raise NodeError(f"SLURM did not start the task's job within {NATIVE_START_TIMEOUT:g} s")
            if run.killed:
                raise _Killed
            run.hosted.run(hosted_nodes[0], run.spec)
            run.ended.wait()
        except _Killed:
            run.outcome = TaskOutcome(*key, OutcomeKind.KILLED, error="killed")
        except (NodeError, SchedulerError, OSError, ValueError) as error:
            reason = f"NATIVE_SCHEDULER {self.name}: {error}"
            run.outcome = TaskOutcome(*key, OutcomeKind.FAULTY, error=reason)
        finally:
            self._close(run)
            with self._lock:
                if self._runs.get(node) is run:
                    del self._runs[node]
        if run.outcome is not None and not self._stopping.is_set():
            self._on_event(TaskDone(node, run.outcome))

    def _close(self, run: _NativeRun) -> None:
        """Stop the native run's node source and cancel its SLURM job."""
        hosted, cluster = run.hosted, run.cluster
        run.hosted = run.cluster = None
        if hosted is not None:
            hosted.stop()
        if cluster is not None:
            cluster.close()

    # -- clusters ----------------------------------------------------------------------------

    def _cluster(self, job_name: str, params: list[str]) -> Any:
        """A dask-jobqueue ``SLURMCluster`` whose jobs carry the source's options, then ``params``."""
        folder = self.work_dir / "jobs"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        walltime: str | None = self.options.walltime
        if any(param.startswith("--time=") for param in params):
            walltime = None  # the task's own, among the directives
        return _slurm_cluster_class()(
            cores=self.options.cores,
            processes=1,
            nanny=False,  # the worker is the job's process: one interpreter start less
            memory=self.options.memory,
            queue=self.options.queue,
            walltime=walltime,
            job_name=f"runyard-{job_name}",
            job_extra_directives=[*self.options.job_extra_directives, *params],
            log_directory=str(folder),
            local_directory=str(folder),
            interface=self.options.interface,
            worker_extra_args=["--no-dashboard"],
            # The scheduler's HTTP server (health, metrics) stays on this host's loopback.
            scheduler_options={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            # TLS with a certificate made for this cluster: whoever reaches the port without it (a task on
            # the same host, say) cannot use the Dask scheduler to run code on the jobs.
            security=_security(folder / f"{job_name}.pem"),
            # exec: the worker is the batch step's own process, which SLURM signals when the job ends (as a
            # child of the batch shell it outlived a cancelled job, reparented out of SLURM's sight)
            python=f"exec {self.options.python or sys.executable}",
        )

    def _hosted(self, name: str, cluster: Any, nodes_per_worker: int | None = None) -> DaskNodeSource:
        return DaskNodeSource(
            name,
            cluster=cluster,
            nodes_per_worker=nodes_per_worker or self.options.nodes_per_worker,
            shared_fs=self.options.shared_fs,
            sandbox=self.sandbox,
        )


_IMPORT_LOCK = threading.Lock()


def _slurm_cluster_class() -> Any:
    """dask-jobqueue's ``SLURMCluster``. Importing dask-jobqueue sets a SIGINT handler (in its ``runner``
    module) that would end the server on Ctrl-C without its shutdown, and fails outside the main thread (a
    source added at run time): the import runs with ``signal.signal`` doing nothing."""
    with _IMPORT_LOCK:
        if "dask_jobqueue.slurm" not in sys.modules:
            original = signal.signal
            signal.signal = lambda signalnum, handler: None
            try:
                importlib.import_module("dask_jobqueue.slurm")
            finally:
                signal.signal = original
    return sys.modules["dask_jobqueue.slurm"].SLURMCluster


def _security(path: Path) -> Any:
    """TLS for a cluster: a certificate and key made for it (by ``distributed``), which every role uses,
    kept in ``path`` (0600) where its jobs read them."""
    from distributed.security import Security

    made = Security.temporary()  # type: ignore[no-untyped-call]  # distributed is not annotated
    path.touch(mode=0o600)
    path.write_text(made.tls_ca_file + made.tls_worker_cert + made.tls_worker_key)
    files = {
        f"tls_{role}_{part}": str(path)
        for role in ("scheduler", "worker", "client")
        for part in ("cert", "key")
    }
    return Security(tls_ca_file=str(path), require_encryption=True, **files)  # type: ignore[no-untyped-call]


class _Killed(Exception):
    """A native task was killed before its node was up."""
