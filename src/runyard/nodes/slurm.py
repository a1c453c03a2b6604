"""The ``slurm`` node source: runyard nodes on Dask workers in SLURM jobs (docs/slurm.md), and nodes started
for one ``NATIVE_SCHEDULER`` task each.

Regular nodes are a :class:`DaskNodeSource` over the pool's Dask scheduler, a process of its own
(``runyard.nodes.slurm_pool``): ``min_jobs`` worker jobs from the start, one more (up to ``max_jobs``)
whenever every node is busy, back to ``min_jobs`` once every node has been idle for ``idle_release``
seconds. The pool outlives the server: a restarted server finds it again and adopts what its workers run
(``reconcile``); removed (``retire``), the source ends it.

Native nodes (``<source>-native-<i>``, ``native_slots`` of them) hold the tokens of
``runyard.nodes.native_scheduler``, so the scheduler gives them only tasks whose ``NATIVE_SCHEDULER`` names
this source or its type. A run there submits a SLURM job with the task's ``NATIVE_SCHEDULER_PARAMS``
(``runyard.nodes.slurm_jobs``: a Dask scheduler and worker of its own, in the job), runs the task on the
node its worker hosts, and cancels the job once the task ends: the task's events are reported under the
native node's name, its start (``TaskStarted``, awaited by the scheduler, which keeps the task PENDING
until then) once the job is up and the task runs there. The job outlives the server: its record in
``<work_dir>/native/<node>.json`` lets a restarted server adopt what runs there (``reconcile``).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dask.utils import parse_bytes
from pydantic import BaseModel, ConfigDict, Field, field_validator

from runyard.errors import InvalidRequestError, NodeError, SchedulerError
from runyard.nodes import native_scheduler, slurm_jobs, slurm_pool
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
#: Seconds between two looks at a native task's job (is it still there?) while the server waits on it.
NATIVE_WATCH_INTERVAL = 2.0
#: Seconds between two looks at whether the pool's jobs are still there (an ended one is replaced).
POOL_PRUNE_INTERVAL = 10.0


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
    native_start_timeout: float = Field(300.0, gt=0)
    """Seconds SLURM has to start a native task's job (its wait in SLURM's queue included) and the job's
    worker to host its node; past that the task fails (FAULTY) and its job is cancelled."""
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
    """One native task: its SLURM job (``record``) and the node source over the job's Dask scheduler."""

    record: slurm_jobs.JobRecord
    spec: TaskSpec | None  # None: adopted after a restart, sent to its node already
    hosted: DaskNodeSource | None = None
    hosted_node: NodeInfo | None = None  # the node the job's worker hosts, once up
    killed: bool = False
    lost: str | None = None  # why its job or node went while it ran
    down: bool = False  # its node is down: is its job gone?
    wake: threading.Event = field(default_factory=threading.Event)  # up, ended, killed, lost, stopping
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
        self._retired = False  # removed for good: the native tasks' jobs end with it (``retire``)
        self._pool_jobs: slurm_pool.Pool | None = None
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
            self._pool_jobs = self._open_pool()
            self._pool = DaskNodeSource(
                self.name,
                scheduler=self._pool_jobs.address,
                security=self._pool_jobs.security,
                nodes_per_worker=self.options.nodes_per_worker,
                shared_fs=self.options.shared_fs,
                sandbox=self.sandbox,
            )
            self._pool.start(self._pool_event)
            self._jobs = max(
                self.options.min_jobs, min(self.options.max_jobs, len(self._pool_jobs.job_ids()))
            )
            self._pool_jobs.scale(self._jobs)
            threading.Thread(target=self._scale, name=f"runyard-{self.name}-scale", daemon=True).start()
        for info in self._natives.values():
            on_event(NodeUp(replace(info)))

    def nodes(self) -> list[NodeInfo]:
        pool = self._pool.nodes() if self._pool is not None else []
        with self._lock:
            where = {node: run.hosted_node.host for node, run in self._runs.items() if run.hosted_node}
        return pool + [_at(info, where.get(info.name)) for info in self._natives.values()]

    def run(self, node: str, spec: TaskSpec) -> None:
        if node not in self._natives:
            if self._pool is None:
                raise NodeError(f"no node {node!r} in node source {self.name!r}")
            with self._lock:
                self._busy.add(node)
            self._pool.run(node, spec)
            return
        # its own files: an execution given again after a restart (same number) must not share the old job's
        stem = _safe(f"{node}-{spec.task_id}-{spec.execution}-{uuid.uuid4().hex[:8]}")
        with self._lock:
            if node in self._runs:
                raise NodeError(f"node {node} is already running task {self._runs[node].record.task_id}")
            run = self._runs[node] = _NativeRun(
                slurm_jobs.JobRecord(spec.task_id, spec.execution, stem), spec
            )
        self._start_thread(node, run)

    def kill(self, node: str, task_id: str, execution: int) -> None:
        if node not in self._natives:
            if self._pool is not None:
                self._pool.kill(node, task_id, execution)
            return
        with self._lock:
            run = self._runs.get(node)
            if run is None or (run.record.task_id, run.record.execution) != (task_id, execution):
                return
            run.killed = True
            hosted, hosted_node = run.hosted, run.hosted_node
        run.wake.set()
        if hosted is not None and hosted_node is not None and run.record.sent:
            hosted.kill(hosted_node.name, task_id, execution)

    def reconcile(self, recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        """Regular nodes' executions are the Dask source's to adopt. A native node's is adopted when its
        record names it, its SLURM job is still there and the job's worker still runs it or holds its
        outcome; a job that no recorded execution needs any more, or that was not sent its run, is
        cancelled (a task that had not started is given a node again)."""
        deadline = time.monotonic() + timeout
        wanted = {r.node: r for r in recorded if r.node in self._natives}
        adopted: list[RecordedExecution] = []
        for node in self._natives:
            record = slurm_jobs.JobRecord.read(self._record_path(node))
            if record is None:
                continue
            execution = wanted.get(node)
            run = _NativeRun(record, None)
            kept = (
                execution is not None
                and (execution.task_id, execution.execution) == (record.task_id, record.execution)
                and record.sent
                and record.job_id is not None
                and self._readopt(node, run, deadline)
            )
            if not kept:
                self._close(node, run)
                continue
            assert execution is not None
            with self._lock:
                self._runs[node] = run
            adopted.append(execution)
            assert run.hosted_node is not None
            self._on_event(NodeUp(_at(self._natives[node], run.hosted_node.host)))
            # RUNNING, if the scheduler still holds it PENDING (stopped between the run and its start)
            self._on_event(TaskStarted(node, record.task_id, record.execution, awaited=True))
            self._start_thread(node, run)
        if self._pool is not None:
            adopted += self._pool.reconcile([r for r in recorded if r.node not in self._natives], timeout)
        return adopted

    def stop(self) -> None:
        """Leave the pool (its scheduler and jobs go on, for the server that starts next to adopt what they
        run) and the native tasks' jobs whose run was sent; one still waiting for SLURM is cancelled. Once
        retired (removed), the pool and every job end."""
        self._stopping.set()
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.wake.set()
            if run.record.sent and run.hosted is not None and not self._retired:
                run.hosted.leave()
        if self._pool is not None:
            if self._retired:
                self._pool.stop()
            else:
                self._pool.leave()
        if self._pool_jobs is not None and self._retired:
            self._pool_jobs.end()

    def retire(self) -> None:
        """Stop for good (the source is removed, its nodes with it): the native tasks' jobs are cancelled
        too, as no server would adopt what they run."""
        self._retired = True
        self.stop()

    # -- regular nodes ---------------------------------------------------------------------

    def _pool_event(self, event: NodeEvent) -> None:
        if isinstance(event, TaskDone | NodeDown | NodeRemoved):
            with self._lock:
                self._busy.discard(event.node)
        self._on_event(event)

    def _scale(self) -> None:
        """One more job when every node is busy (up to ``max_jobs``); back to ``min_jobs`` after
        ``idle_release`` seconds with every node idle."""
        idle_since = pruned = time.monotonic()
        while not self._stopping.wait(SCALE_INTERVAL):
            assert self._pool is not None and self._pool_jobs is not None
            if time.monotonic() - pruned > POOL_PRUNE_INTERVAL:  # jobs that ended are replaced
                pruned = time.monotonic()
                try:
                    if self._pool_jobs.prune() < self._jobs:
                        self._pool_jobs.scale(self._jobs)
                except NodeError as error:
                    log.warning("node source %s: %s", self.name, error)
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
                try:
                    self._pool_jobs.scale(jobs)
                except NodeError as error:
                    log.warning("node source %s: %s", self.name, error)

    # -- native nodes ----------------------------------------------------------------------

    def _start_thread(self, node: str, run: _NativeRun) -> None:
        threading.Thread(target=self._native, args=(node, run), name=f"runyard-{node}", daemon=True).start()

    def _native(self, node: str, run: _NativeRun) -> None:
        """Submit the task's SLURM job, run the task on the node its worker hosts once it is up, cancel
        the job once the task ended; the outcome is reported once the job is gone and the native node
        free again. A server that stops meanwhile leaves the job (see ``stop``)."""
        record = run.record
        key = (record.task_id, record.execution)
        try:
            if record.job_id is None:
                assert run.spec is not None
                self._submit(node, run, run.spec)
            if not record.sent:
                assert run.spec is not None
                self._connect(node, run, time.monotonic() + self.options.native_start_timeout)
                if run.killed:
                    raise _Killed
                hosted, hosted_node = run.hosted, run.hosted_node
                assert hosted is not None and hosted_node is not None
                record.sent = True
                record.write(self._record_path(node))
                self._on_event(NodeUp(_at(self._natives[node], hosted_node.host)))  # where it runs now
                hosted.run(hosted_node.name, _placed(run.spec, node, hosted_node))
                if run.killed:  # between the record and the run: ``kill`` found nothing to kill yet
                    hosted.kill(hosted_node.name, *key)
            self._wait(run, lambda: run.outcome is not None or run.lost is not None)
        except _Killed:
            run.outcome = TaskOutcome(*key, OutcomeKind.KILLED, error="killed")
        except _Stopped:
            pass
        except (NodeError, SchedulerError, OSError, ValueError, TimeoutError) as error:
            run.outcome = TaskOutcome(
                *key, OutcomeKind.FAULTY, error=f"NATIVE_SCHEDULER {self.name}: {error}"
            )
        if self._stopping.is_set():  # the server stops: a job that runs the task stays (see ``stop``)
            if not record.sent or self._retired:
                self._close(node, run)
            return
        self._close(node, run)
        with self._lock:
            if self._runs.get(node) is run:
                del self._runs[node]
        if run.lost is not None and run.outcome is None:  # its job went with it: the node-lost rule
            self._on_event(NodeDown(node, run.lost))
            self._on_event(NodeUp(replace(self._natives[node])))
        elif run.outcome is not None:
            if record.sent:  # back to the server's host, before another task is given the node
                self._on_event(NodeUp(replace(self._natives[node])))
            self._on_event(TaskDone(node, run.outcome))

    def _submit(self, node: str, run: _NativeRun, spec: TaskSpec) -> None:
        """Write the job's files and record, then ``sbatch`` it (the record says it was, with its id)."""
        params = native_scheduler.parse_params(spec.generic_information.get(native_scheduler.PARAMS, ""))
        folder, stem = self._jobs_folder(), run.record.stem
        memory = parse_bytes(self.options.memory)
        slurm_jobs.make_security(folder / f"{stem}.pem")
        slurm_jobs.write_settings(
            folder, stem, cores=self.options.cores, memory=memory, interface=self.options.interface
        )
        run.record.write(self._record_path(node))
        script = slurm_jobs.batch_script(
            job_name=f"runyard-{node}",
            folder=folder,
            stem=stem,
            queue=self.options.queue,
            cores=self.options.cores,
            memory=memory,
            walltime=None if any(p.startswith("--time=") for p in params) else self.options.walltime,
            directives=[*self.options.job_extra_directives, *params],
            python=self.options.python or sys.executable,
        )
        if run.killed:
            raise _Killed
        run.record.job_id = slurm_jobs.submit(script)
        run.record.write(self._record_path(node))

    def _connect(self, node: str, run: _NativeRun, deadline: float) -> None:
        """Wait for the job's Dask scheduler (SLURM runs the job), connect to it, wait for its node."""
        job_id, folder = run.record.job_id, self._jobs_folder()
        assert job_id is not None
        address = None
        watched = 0.0
        while address is None:
            address = slurm_jobs.scheduler_address(folder, run.record.stem)
            if address is not None:
                break
            if run.killed:
                raise _Killed
            if self._stopping.is_set():
                raise _Stopped
            if time.monotonic() > deadline:
                limit = self.options.native_start_timeout
                raise NodeError(
                    f"SLURM did not start the task's job within {limit:g} s (native_start_timeout)"
                )
            if time.monotonic() - watched > NATIVE_WATCH_INTERVAL:
                watched = time.monotonic()
                if slurm_jobs.state(job_id) is None:
                    raise NodeError(f"its SLURM job {job_id} ended before its worker started")
            run.wake.wait(0.2)
        security = slurm_jobs.load_security(folder / f"{run.record.stem}.pem")
        hosted = DaskNodeSource(
            f"{node}-job",
            scheduler=address,
            security=security,
            nodes_per_worker=1,
            shared_fs=self.options.shared_fs,
            sandbox=self.sandbox,
            connect_timeout=max(1.0, deadline - time.monotonic()),
        )
        with self._lock:
            run.hosted = hosted
        hosted.start(lambda event: self._relay(node, run, event))
        self._wait(run, lambda: run.hosted_node is not None, deadline)

    def _readopt(self, node: str, run: _NativeRun, deadline: float) -> bool:
        """Whether the job of ``run`` (found in its record after a restart) still runs it, or holds its
        outcome: then it is adopted, its events relayed from now on."""
        job_id = run.record.job_id
        assert job_id is not None
        try:
            if slurm_jobs.state(job_id) is None:
                log.warning("node source %s: the SLURM job %s of %s ended while the server was away",
                            self.name, job_id, node)  # fmt: skip
                return False
            self._connect(node, run, deadline)
            hosted, hosted_node = run.hosted, run.hosted_node
            if hosted is None or hosted_node is None:  # its job ended meanwhile (``run.lost``)
                return False
            recorded = RecordedExecution(hosted_node.name, run.record.task_id, run.record.execution)
            return bool(hosted.reconcile([recorded], max(0.0, deadline - time.monotonic())))
        except (NodeError, OSError, TimeoutError, _Killed, _Stopped) as error:
            log.warning("node source %s: the SLURM job %s of %s cannot be adopted: %s",
                        self.name, job_id, node, error)  # fmt: skip
            return False

    def _relay(self, node: str, run: _NativeRun, event: NodeEvent) -> None:
        """An event of the job's node source, as the native node's."""
        if isinstance(event, NodeUp) and event.node.alive and run.hosted_node is None:
            run.hosted_node = event.node
        elif isinstance(event, TaskStarted):
            self._on_event(TaskStarted(node, event.task_id, event.execution, awaited=True))
        elif isinstance(event, TaskDone):
            run.outcome = event.outcome
        elif isinstance(event, NodeDown | NodeRemoved) and run.hosted_node is not None:
            if event.node != run.hosted_node.name:
                return
            run.down = True  # its job may be gone: ``_wait`` looks
        else:
            return
        run.wake.set()

    def _wait(self, run: _NativeRun, done: Callable[[], bool], deadline: float | None = None) -> None:
        """Until ``done()``: ``_Killed`` if the run is killed before it was sent, ``_Stopped`` if the server
        stops, ``TimeoutError`` past ``deadline``; the job is looked at now and then (gone: lost)."""
        watched = time.monotonic()
        while not done():
            if run.killed and not run.record.sent:
                raise _Killed
            if self._stopping.is_set():
                raise _Stopped
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("the task's SLURM job did not host its node in time")
            run.wake.wait(0.5)
            run.wake.clear()
            job_id = run.record.job_id
            if job_id is not None and (run.down or time.monotonic() - watched > 5 * NATIVE_WATCH_INTERVAL):
                watched, run.down = time.monotonic(), False
                if slurm_jobs.state(job_id) is None and not done():
                    run.lost = f"its SLURM job {job_id} ended"
                    if run.record.sent:
                        return
                    raise NodeError(f"its SLURM job {job_id} ended before its worker was up")

    def _close(self, node: str, run: _NativeRun) -> None:
        """Stop the run's node source, cancel its SLURM job, forget its files and record."""
        hosted, run.hosted = run.hosted, None
        if hosted is not None:
            hosted.stop()
        if run.record.job_id is not None:
            try:
                slurm_jobs.cancel(run.record.job_id)
            except NodeError as error:
                log.warning("node source %s: job %s of %s: %s", self.name, run.record.job_id, node, error)
        slurm_jobs.remove_files(self._jobs_folder(), run.record.stem)
        path = self._record_path(node)
        if slurm_jobs.JobRecord.read(path) == run.record:
            path.unlink(missing_ok=True)

    def _record_path(self, node: str) -> Path:
        return self.work_dir / "native" / f"{node}.json"

    def _jobs_folder(self) -> Path:
        folder = self.work_dir / "jobs"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder

    # -- the pool's cluster ------------------------------------------------------------------

    def _open_pool(self) -> slurm_pool.Pool:
        """The pool's scheduler (found again, else started) and the options of its worker jobs."""
        folder = self._jobs_folder()
        pool = slurm_pool.Pool(
            self.work_dir / "pool",
            folder,
            {
                "cores": self.options.cores,
                "processes": 1,
                "nanny": False,  # the worker is the job's process: one interpreter start less
                "memory": self.options.memory,
                "queue": self.options.queue,
                "walltime": self.options.walltime,
                "job_name": "runyard-pool",
                "job_extra_directives": list(self.options.job_extra_directives),
                "log_directory": str(folder),
                "local_directory": str(folder),
                "interface": self.options.interface,
                "protocol": "tls://",
                "worker_extra_args": ["--no-dashboard"],
                # exec: the worker is the batch step's own process, which SLURM signals when the job ends
                # (as a child of the batch shell it outlived a cancelled job, reparented out of SLURM's sight)
                "python": f"exec {self.options.python or sys.executable}",
            },
            self.options.interface,
        )
        pool.open()
        return pool


def _placed(spec: TaskSpec, node: str, hosted: NodeInfo) -> TaskSpec:
    """``spec`` as it runs in its job: ``PA_NODE_HOST`` and ``PA_NODE_URL`` say where (the host the job's
    worker reports), ``PA_NODE_NAME`` stays the native node's."""
    where = {"PA_NODE_HOST": hosted.host, "PA_NODE_URL": _url(hosted.host, node)}
    return replace(spec, variables={**spec.variables, **where})


def _at(info: NodeInfo, host: str | None) -> NodeInfo:
    """A native node as it is while its task's job runs on ``host`` (``None``: as at rest, the server's)."""
    return replace(info) if host is None else replace(info, host=host, url=_url(host, info.name))


def _url(host: str, node: str) -> str:
    return f"slurm://{host}/{node}"


def _safe(name: str) -> str:
    """``name`` as a file name (a task id is ``<job>t<number>``, a node name a source's)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


class _Killed(Exception):
    """A native task was killed before its node was up."""


class _Stopped(Exception):
    """The server stops: the native task's job is left to the next one."""
