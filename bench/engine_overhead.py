"""Engine overhead: runyard against Dask and against one interpreter per task, on no-op tasks.

Prints figures and asserts nothing. Measured, each system on 2 workers:

- wall time from submission to the end of N independent no-op tasks (default 1,000), for
  runyard (a job of ``cpython`` tasks whose code is ``pass``; SQLite, and PostgreSQL with
  ``--database-url``; and on SQLite the same tasks with ``fork=False``, run in each node's
  worker; and the same two "contained": on a platform configured as a server configures it, every
  task sandboxed and, when this runs as root, run as its owner's dedicated OS account), a Dask
  ``LocalCluster(n_workers=2, threads_per_worker=1)`` mapping a no-op function,
  and ``subprocess.run([sys.executable, "-c", "pass"])`` over 2 threads; each system is
  started before the clock starts (its start time is printed apart) and stopped after, so that one
  system's idle processes never share the machine with another's run;
- CPU time (user + system) of the whole process tree over that window: this process plus every
  descendant, reaped ones included (they are counted in their parent's ``children_*`` times);
- submit-to-first-start latency of 1-task jobs on an already started platform (and contained);
- peak memory of the whole platform (this process and its descendants) during a 10,000-task job,
  then the time a fresh scheduler core takes to replay that job's event log;
  The memory run comes first, before Dask is imported, so that Dask's modules are not counted;
- no-op ``R`` tasks (``NULL``) against no-op ``cpython`` tasks on one started platform, a tenth as
  many as the wall-time runs: R starts for each script, so this is the price of R's start.
- with ``--only nodes``: the node side alone, a local node source and no scheduler, each node
  running its share of the tasks one after the other: wall and CPU per task, the agents' own CPU.

Usage::

    .venv/bin/python bench/engine_overhead.py                     # the full run (several minutes)
    .venv/bin/python bench/engine_overhead.py --quick             # a fast smoke run
    .venv/bin/python bench/engine_overhead.py --only local,dask   # the runyard SQLite row against Dask alone
    .venv/bin/python bench/engine_overhead.py --database-url "$(scripts/postgres start)"

With ``--database-url`` (PostgreSQL) every runyard run gets a new scratch database on that
server, dropped afterwards; the server's own processes are not in the measured tree.

Run against a checkout from before the containment (``PYTHONPATH=<checkout>/src``), the contained
rows are left out: that code has no server configuration that sandboxes tasks.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import psutil
import sqlalchemy as sa

import dask_nodes
import runyard
from report import load_line, print_table, verdict
from runyard.auth.users import add_user
from runyard.model import JobStatus, Script, ScriptExecutable, Task, Workflow
from runyard.nodes.local import LocalNodeSource
from runyard.nodes.protocol import NodeEvent, TaskDone, TaskSpec
from runyard.platform import Platform
from runyard.server.config import ServerConfig
from runyard.settings import Settings
from runyard.store.jobs import load_executions

try:
    from runyard.server.task_start import task_account_hook
except ImportError:  # runyard from before the containment (issue 9): no contained rows
    CONTAINMENT = False
else:
    CONTAINMENT = True

try:
    from runyard.scheduler import journal
    from runyard.scheduler.rules import Rules
except ImportError:  # runyard from before the event log (issue 14): no replay figure
    JOURNAL = False
else:
    JOURNAL = True

WORKERS = 2
MB = 1024 * 1024
TIMES = "×"  # noqa: RUF001 (the multiplication sign is meant)

# The targets.
TARGET_VS_DASK = 1.0  # runyard wall / Dask wall at most
TARGET_HOSTED_VS_DASK = 1.5  # Dask-hosted runyard nodes / Dask alone on the same cluster, at most
TARGET_VS_SUBPROCESS = 5.0  # runyard at least this many times faster than an interpreter per task
TARGET_FIRST_START = 0.050  # seconds
TARGET_PEAK_MEMORY = 500 * MB


# -- process-tree accounting ------------------------------------------------------------------


@dataclass(frozen=True)
class Cpu:
    """CPU seconds (user + system) of this process and of its descendants."""

    own: float
    descendants: float

    @property
    def total(self) -> float:
        return self.own + self.descendants

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(self.own - other.own, self.descendants - other.descendants)


def _tree() -> list[psutil.Process]:
    me = psutil.Process()
    return [me, *me.children(recursive=True)]


def _cpu_of(process: psutil.Process, *, own: bool = True, reaped: bool = True) -> float:
    """CPU of ``process`` itself and/or of the children it has reaped; 0 if it has just gone."""
    try:
        t = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(
        (t.user + t.system if own else 0.0) + (t.children_user + t.children_system if reaped else 0.0)
    )


def tree_cpu() -> Cpu:
    """CPU used so far by the tree. A process reaped between two readings moves from its own
    entry to its parent's ``children_*``, so the difference of two readings stays exact as long
    as the reaper is in the tree (agents reap task processes, this process reaps the rest)."""
    me, *others = _tree()
    descendants = _cpu_of(me, own=False) + sum(_cpu_of(p) for p in others)
    return Cpu(_cpu_of(me, reaped=False), descendants)


class MemorySampler:
    """Samples the summed RSS (and, every few samples, PSS) of the process tree in a thread.

    RSS counts a page shared by forked processes once per process; PSS splits it between them,
    so the PSS sum is the memory the tree really holds. Reading PSS costs ~0.4 ms per process,
    hence the sparser sampling.
    """

    def __init__(self, interval: float = 0.05, pss_every: int = 5) -> None:
        self.interval = interval
        self.pss_every = pss_every
        self.peak_rss = 0
        self.peak_pss = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        for tick in itertools.count():
            with_pss = tick % self.pss_every == 0
            rss = pss = 0
            for process in _tree():
                with suppress(psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                    if with_pss:
                        info = process.memory_full_info()
                        rss, pss = rss + info.rss, pss + info.pss
                    else:
                        rss += process.memory_info().rss
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.samples += 1
            if self._stop.wait(self.interval):
                return


def tree_rss() -> int:
    return sum(p.memory_info().rss for p in _tree())


# -- the systems --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One timed run: ``start`` is the set-up before the clock (not part of ``wall``)."""

    start: float
    wall: float
    cpu: Cpu


def noop(_: int) -> None:
    """The Dask task."""


def noop_workflow(tasks: int, name: str = "Bench", fork: bool | None = None) -> Workflow:
    """``fork=False``: ProActive's ``fork="false"``, the tasks run in each node's reused worker process."""
    script = ScriptExecutable(Script("cpython", code="pass"))
    return Workflow(name=name, tasks=[Task(name=f"T{i}", executable=script, fork=fork) for i in range(tasks)])


@contextmanager
def scratch_database(url: str | None) -> Iterator[str | None]:
    """A new empty PostgreSQL database on ``url``'s server, dropped afterwards; other URLs as given."""
    if url is None or sa.make_url(url).get_backend_name() != "postgresql":
        yield url
        return
    server = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"runyard_bench_{os.getpid()}_{time.monotonic_ns()}"
    try:
        with server.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield sa.make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            with server.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


#: The owner of every benchmark job (``Platform.submit``'s default).
OWNER = "local"


def contained_platform(folder: Path, database_url: str | None) -> Platform:
    """A platform as a server makes it (``runyard.api.app``): its settings from a ``ServerConfig``
    (``contain_tasks``: the data folder private, tasks sandboxed) and the hook that gives each task
    its owner's OS account. The server's other hooks (credentials, catalog scripts, job token) are
    left out: they are not the containment. The owner is a user of the store, as on a server."""
    settings = ServerConfig(data_dir=folder, database_url=database_url, nodes=WORKERS).settings()
    platform = Platform(settings, spec_hooks=(task_account_hook(settings),))
    with platform.engine.begin() as connection:
        add_user(connection, OWNER, secrets.token_urlsafe())
    return platform


@contextmanager
def started_platform(
    database_url: str | None, *, contained: bool = False
) -> Iterator[tuple[Platform, float]]:
    """A platform with 2 local nodes on a fresh store, and the seconds it took to start."""
    with (
        tempfile.TemporaryDirectory(prefix="runyard-bench-") as folder,
        scratch_database(database_url) as url,
    ):
        began = time.perf_counter()
        platform = (
            contained_platform(Path(folder), url)
            if contained
            else Platform(Settings(data_dir=Path(folder), database_url=url, nodes=WORKERS))
        )
        with platform:
            yield platform, time.perf_counter() - began


def run_job(platform: Platform, workflow: Workflow) -> tuple[int, float]:
    """Submit, wait for the end; the job id and the wall time. Raises if the job did not finish."""
    began = time.perf_counter()
    job = platform.submit(workflow, owner=OWNER)
    status = platform.wait(job)
    wall = time.perf_counter() - began
    if status is not JobStatus.FINISHED:
        raise RuntimeError(
            f"benchmark job {job} ended {status}, not FINISHED: see {platform.settings.data_dir}"
        )
    return job, wall


def run_runyard(
    tasks: int, database_url: str | None, fork: bool | None = None, *, contained: bool = False
) -> Run:
    workflow = noop_workflow(tasks, fork=fork)
    with started_platform(database_url, contained=contained) as (platform, start):
        before = tree_cpu()
        _, wall = run_job(platform, workflow)
        return Run(start, wall, tree_cpu() - before)


def run_dask(tasks: int) -> Run:
    from distributed import Client, LocalCluster  # here: its import must not weigh on the memory run

    began = time.perf_counter()
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=WORKERS,
        threads_per_worker=1,
        dashboard_address=None,  # no web server: less work for Dask, no port clash on a shared host
        silence_logs=logging.ERROR,
    )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        client.wait_for_workers(WORKERS)
        start = time.perf_counter() - began
        before = tree_cpu()
        began = time.perf_counter()
        client.gather(client.map(noop, range(tasks), pure=False))
        wall = time.perf_counter() - began
        return Run(start, wall, tree_cpu() - before)


def run_subprocesses(tasks: int) -> Run:
    command = [sys.executable, "-c", "pass"]
    with ThreadPoolExecutor(WORKERS) as pool:
        before = tree_cpu()
        began = time.perf_counter()
        codes = list(pool.map(lambda _: subprocess.run(command, check=False).returncode, range(tasks)))
        wall = time.perf_counter() - began
        cpu = tree_cpu() - before
    if any(codes):
        raise RuntimeError(f"{sum(map(bool, codes))} of {tasks} interpreters failed")
    return Run(0.0, wall, cpu)


# -- the measurements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    dispatched: list[float]  # submit call -> the scheduler gives the task to a node
    on_node: list[float]  # submit call -> the node's task process starts executing it
    job_wall: list[float]  # submit call -> wait() returns


def measure_first_start(samples: int, database_url: str | None, *, contained: bool = False) -> Latency:
    """1-task jobs one after the other on a started platform (none of them is a warm-up)."""
    workflow = noop_workflow(1, name="Latency")
    dispatched: list[float] = []
    on_node: list[float] = []
    walls: list[float] = []
    with started_platform(database_url, contained=contained) as (platform, _):
        for _ in range(samples):
            submitted = time.time()
            job, wall = run_job(platform, workflow)
            task = platform.report(job)["tasks"][0]
            with platform.engine.connect() as connection:
                execution = load_executions(connection, job)[0]
            if task["started_at"] is None or execution.started_at is None:
                raise RuntimeError(f"job {job} finished without a start time: {task}, {execution}")
            dispatched.append(task["started_at"] - submitted)
            on_node.append(execution.started_at - submitted)
            walls.append(wall)
    return Latency(dispatched, on_node, walls)


@dataclass(frozen=True)
class Replay:
    """Feeding the job's event log to a fresh scheduler core (``runyard.scheduler.journal.replay``)."""

    seconds: float  # reading, decoding and replaying, CPU of this process
    turns: int
    size: int  # bytes of the log


@dataclass(frozen=True)
class Memory:
    tasks: int
    baseline_rss: int  # the tree (this process alone) before the platform starts
    peak_rss: int
    peak_pss: int
    wall: float
    cpu: Cpu
    samples: int
    replay: Replay | None = None


def measure_memory(tasks: int, database_url: str | None) -> Memory:
    """The memory run; its event log is then replayed (after the platform stopped, out of the figures)."""
    baseline = tree_rss()
    workflow = noop_workflow(tasks)
    with tempfile.TemporaryDirectory(prefix="runyard-bench-log-") as scratch:
        log = Path(scratch) / "events.jsonl"
        with MemorySampler() as sampler, started_platform(database_url) as (platform, _):
            before = tree_cpu()
            _, wall = run_job(platform, workflow)
            cpu = tree_cpu() - before
            kept = getattr(platform.scheduler, "event_log_path", None) if JOURNAL else None
            rules = Rules.of(platform.settings) if JOURNAL else None
            if kept is not None:  # the platform's data folder goes with it (the job's turns are in)
                for path in journal.files(kept) if hasattr(journal, "files") else [kept]:  # rotated
                    shutil.copy(path, log.with_name(path.name))
        replay = measure_replay(log, rules) if rules is not None and log.exists() else None
    return Memory(tasks, baseline, sampler.peak_rss, sampler.peak_pss, wall, cpu, sampler.samples, replay)


def measure_replay(log: Path, rules: Rules) -> Replay:
    """Every file of the log, oldest first (each opens with a snapshot since the log rotates)."""
    began = time.process_time()
    replayed = journal.replay(
        journal.read_all(log) if hasattr(journal, "read_all") else journal.read(log), rules
    )
    size = sum(path.stat().st_size for path in log.parent.glob(f"{log.name}*"))
    return Replay(time.process_time() - began, replayed.turns, size)


def measure_walls(
    systems: dict[str, Callable[[], Run]], repeat: int, progress: Callable[[str], None]
) -> dict[str, list[Run]]:
    """Each round runs every system once, the order rotating by one per round."""
    runs: dict[str, list[Run]] = {name: [] for name in systems}
    names = list(systems)
    for round_ in range(repeat if names else 0):  # --only may choose none of them
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            run = systems[name]()
            runs[name].append(run)
            progress(f"round {round_ + 1}/{repeat}: {name}: {run.wall:.2f} s")
    return runs


# -- printing -------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def print_walls(runs: dict[str, list[Run]], tasks: int) -> None:
    print(
        f"\n{tasks:,} independent no-op tasks on {WORKERS} workers, submission to end "
        f"({plural(len(next(iter(runs.values()))), 'run')} each; wall and CPU in seconds)"
    )
    rows = []
    for name, results in runs.items():
        walls = sorted(r.wall for r in results)
        cpu = statistics.median(r.cpu.total for r in results)
        own = statistics.median(r.cpu.own for r in results)
        start = statistics.median(r.start for r in results)
        rows.append([
            name,
            f"{start:.2f}" if start else "-",
            f"{walls[0]:.2f}", f"{statistics.median(walls):.2f}", f"{walls[-1]:.2f}",
            ms(statistics.median(walls) / tasks),
            f"{cpu:.2f}", f"{own:.2f}", f"{cpu - own:.2f}", ms(cpu / tasks),
        ])  # fmt: skip
    print_table(
        [
            "system",
            "start",
            "wall min",
            "median",
            "max",
            "wall/task",
            "CPU",
            "this proc",
            "children",
            "CPU/task",
        ],
        rows,
    )


def print_targets(
    runs: dict[str, list[Run]], latencies: list[tuple[str, Latency]], memory: list[tuple[str, Memory]]
) -> None:
    def median_wall(name: str) -> float:
        return statistics.median(r.wall for r in runs[name])

    dask = median_wall(DASK) if runs.get(DASK) else None
    subprocess_ = median_wall(SUBPROCESS) if runs.get(SUBPROCESS) else None
    mine_names = [n for n in runs if n.startswith("runyard")]
    if mine_names and (dask or subprocess_):
        print("\nRatios of median wall times (targets from the issue)")
    for name in mine_names:
        mine = median_wall(name)
        if dask:
            vs_dask = mine / dask
            cpu_ratio = statistics.median(r.cpu.total for r in runs[name]) / statistics.median(
                r.cpu.total for r in runs[DASK]
            )
            print(
                f"  {name}/Dask = {vs_dask:.2f}{TIMES} (CPU {cpu_ratio:.2f}{TIMES})   "
                f"target ≤ {TARGET_VS_DASK:.1f}{TIMES}: {verdict(vs_dask <= TARGET_VS_DASK)}"
            )
        if not subprocess_:
            continue
        vs_subprocess = mine / subprocess_
        print(
            f"  {name}/subprocess = {vs_subprocess:.2f}{TIMES} ({1 / vs_subprocess:.1f}{TIMES} faster "
            f"than an interpreter per task)   target ≥ {TARGET_VS_SUBPROCESS:.0f}{TIMES} faster: "
            f"{verdict(1 / vs_subprocess >= TARGET_VS_SUBPROCESS)}"
        )
    for platform, latency in latencies:
        on_node = statistics.median(latency.on_node)
        print(
            f"\nFirst start of a 1-task job on a started platform, {platform} "
            f"(median of {len(latency.on_node)}; min … max)"
        )
        for label, values in [
            ("submit → dispatched to a node (task started_at)", latency.dispatched),
            ("submit → running on the node (execution started_at)", latency.on_node),
            ("submit → wait() returns FINISHED", latency.job_wall),
        ]:
            print(f"  {label}: {ms(statistics.median(values))} ({ms(min(values))} … {ms(max(values))})")
        print(f"  target < {ms(TARGET_FIRST_START)} (on the node): {verdict(on_node < TARGET_FIRST_START)}")
    for name, m in memory:
        print(
            f"\n{m.tasks:,}-task job, {name}: wall {m.wall:.1f} s ({ms(m.wall / m.tasks)}/task), "
            f"CPU {m.cpu.total:.1f} s ({ms(m.cpu.total / m.tasks)}/task)"
        )
        print(
            f"  peak RSS of the platform (this process + descendants): {m.peak_rss / MB:.0f} MB   "
            f"target < {TARGET_PEAK_MEMORY / MB:.0f} MB: {verdict(m.peak_rss < TARGET_PEAK_MEMORY)}"
        )
        print(
            f"  peak PSS (shared pages counted once): {m.peak_pss / MB:.0f} MB; this process alone "
            f"before the platform started: {m.baseline_rss / MB:.0f} MB RSS, so the platform added "
            f"{(m.peak_rss - m.baseline_rss) / MB:.0f} MB at the peak; {m.samples} samples"
        )
        if m.replay is not None:
            r = m.replay
            print(
                f"  replay of its event log ({r.size / MB:.1f} MB, {r.turns:,} turns) by a fresh core: "
                f"{r.seconds:.2f} s of CPU ({ms(r.seconds / m.tasks)}/task)"
            )


def print_containment(runs: dict[str, list[Run]], tasks: int) -> None:
    """Each contained row against the same row uncontained: ratios of medians, and the difference
    per task (what the sandbox and the account switch cost each task)."""
    print("\nContained / uncontained (medians; the difference per task)")
    for contained in [n for n in runs if CONTAINED in n]:
        plain = contained.replace(CONTAINED, "")
        wall = [statistics.median(r.wall for r in runs[n]) for n in (contained, plain)]
        cpu = [statistics.median(r.cpu.total for r in runs[n]) for n in (contained, plain)]
        print(
            f"  {contained} / {plain}: wall {wall[0] / wall[1]:.2f}{TIMES} "
            f"({ms((wall[0] - wall[1]) / tasks)}/task), "
            f"CPU {cpu[0] / cpu[1]:.2f}{TIMES} ({ms((cpu[0] - cpu[1]) / tasks)}/task)"
        )


BACKEND_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
DASK = "Dask LocalCluster"
SUBPROCESS = "subprocess"
CONTAINED = " contained"


def runyard_label(database_url: str | None) -> str:
    if database_url is None:
        return "runyard SQLite"
    backend = sa.make_url(database_url).get_backend_name()
    return f"runyard {BACKEND_NAMES.get(backend, backend)}"


#: Sizes of a full run and of a ``--quick`` one; options given explicitly win over both.
FULL = {"tasks": 1000, "repeat": 3, "memory_tasks": 10_000, "latency_samples": 20}
QUICK = {"tasks": 200, "repeat": 1, "memory_tasks": 2000, "latency_samples": 5}


#: The parts of a run ``--only`` selects, in the order they run.
PARTS = (
    "memory", "latency", "local", "database", "fork-false", "contained", "dask", "subprocess",
    "hosted", "r", "jvm", "nodes",
)  # fmt: skip


def parse_parts(text: str) -> tuple[str, ...]:
    parts = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [part for part in parts if part not in PARTS]
    if unknown or not parts:
        raise argparse.ArgumentTypeError(f"unknown parts {unknown}: choose among {', '.join(PARTS)}")
    return parts


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, help="tasks per wall-time run (default 1000)")
    parser.add_argument("--repeat", type=int, help="runs of each system (default 3)")
    parser.add_argument("--memory-tasks", type=int, help="tasks of the memory run (default 10000)")
    parser.add_argument("--latency-samples", type=int, help="1-task jobs timed (default 20)")
    parser.add_argument("--database-url", help="also run runyard on this database server (PostgreSQL)")
    parser.add_argument("--quick", action="store_true", help=f"smaller defaults: {QUICK}")
    parser.add_argument(
        "--only",
        type=parse_parts,
        default=PARTS,
        metavar="PART,...",
        help=f"run only these parts (default: all): {', '.join(PARTS)}. 'local' is the runyard SQLite "
        "wall-time row, 'dask' Dask LocalCluster's; the ratios print when both run",
    )
    args = parser.parse_args(argv)
    for option, default in (QUICK if args.quick else FULL).items():
        value = getattr(args, option)
        if value is None:
            setattr(args, option, default)
        elif value < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1, got {value}")
    return args


def measure_r_tasks(tasks: int, progress: Callable[[str], None]) -> None:
    """Print the wall and CPU of ``tasks`` no-op R tasks against as many no-op cpython tasks."""
    rows: list[list[str]] = []
    per_task: list[tuple[float, float]] = []
    with started_platform(None) as (platform, _):
        for language, code in (("cpython", "pass"), ("R", "NULL")):
            progress(f"{tasks} no-op {language} tasks")
            script = ScriptExecutable(Script(language, code=code))
            workflow = Workflow(
                name="Bench", tasks=[Task(name=f"T{i}", executable=script) for i in range(tasks)]
            )
            before = tree_cpu()
            _, wall = run_job(platform, workflow)
            cpu = (tree_cpu() - before).total
            per_task.append((wall / tasks, cpu / tasks))
            rows.append([language, f"{wall:.2f}", ms(wall / tasks), f"{cpu:.2f}", ms(cpu / tasks)])
    print(f"\n{tasks} no-op tasks per language on {WORKERS} workers (wall and CPU in seconds)")
    print_table(["language", "wall", "wall/task", "CPU", "CPU/task"], rows)
    (python_wall, python_cpu), (r_wall, r_cpu) = per_task
    print(
        f"  R / cpython per task: wall {r_wall / python_wall:.0f}{TIMES}, CPU {r_cpu / python_cpu:.0f}{TIMES}"
    )


#: The no-op script of each language compared by ``measure_jvm_tasks``.
NO_OPS = {"cpython": "pass", "groovy": "result = null", "javascript": "result = null"}
TARGET_JVM_VS_CPYTHON = 2.0  # the issue's: a no-op Groovy task costs at most twice a no-op cpython one


def no_op_job(language: str, tasks: int, fork: bool | None = None) -> Workflow:
    script = ScriptExecutable(Script(language, code=NO_OPS[language]))
    return Workflow(
        name="Bench", tasks=[Task(name=f"T{i}", executable=script, fork=fork) for i in range(tasks)]
    )


def print_dask_hosted(tasks: int, repeat: int, progress: Callable[[str], None]) -> None:
    """Runyard nodes hosted by Dask workers against Dask alone, each pair on one fresh ``LocalCluster``."""
    walls = []
    for round_ in range(repeat):
        last = dask_nodes.measure(tasks)
        walls.append(last)
        progress(f"round {round_ + 1}/{repeat}: Dask-hosted: {last.runyard:.2f} s, Dask {last.dask:.2f} s")
    ratios = sorted(w.ratio for w in walls)
    ratio = statistics.median(ratios)
    print(
        f"\n{tasks:,} no-op tasks, 2 Dask-hosted runyard nodes / Dask LocalCluster(2x1) on that cluster: "
        f"median {ratio:.2f}{TIMES} ({ratios[0]:.2f} … {ratios[-1]:.2f}) "
        f"target ≤ {TARGET_HOSTED_VS_DASK:.1f}{TIMES}: {verdict(ratio <= TARGET_HOSTED_VS_DASK)}"
    )


def _minor_faults(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[7])


def measure_node_side(tasks: int, repeat: int, progress: Callable[[str], None]) -> None:
    """The node side alone: a ``LocalNodeSource`` of ``WORKERS`` agents, no scheduler; each node runs
    ``tasks // WORKERS`` no-op tasks one after the other (``run``, then its ``TaskDone``). CPU of the agents
    and of their descendants (a fork server and the processes it reaped, or the task processes the
    agent reaped itself, on code from before the fork server)."""
    per_node = max(tasks // WORKERS, 1)
    rows = []
    for round_ in range(repeat):
        wall, tree, agent_cpu, faults = _node_side_round(per_node)
        count = per_node * WORKERS
        rows.append(
            [
                f"{round_ + 1}",
                f"{wall / per_node * 1e3:.2f}",
                f"{tree / count * 1e3:.2f}",
                f"{agent_cpu / count * 1e3:.2f}",
                f"{faults / count:.0f}",
                f"{os.getloadavg()[0]:.1f}",
            ]
        )
        progress(f"round {round_ + 1}/{repeat}: node side: {tree / count * 1e3:.2f} ms of CPU per task")
    print(f"\nThe node side alone: {per_node:,} no-op tasks one after the other on each of {WORKERS} nodes")
    print(
        "(no scheduler; per task: wall on a node, CPU of the agents and their descendants, the agents' own)"
    )
    print_table(["run", "wall ms", "CPU ms", "agent CPU ms", "agent faults", "load"], rows)


def _node_side_round(per_node: int) -> tuple[float, float, float, int]:
    """One run of ``measure_node_side``: wall seconds, CPU seconds of the agents' trees and of the agents
    alone, the agents' minor faults."""
    root = Path(tempfile.mkdtemp(prefix="runyard-node-side-"))
    done = {f"local-{n}": threading.Semaphore(0) for n in range(1, WORKERS + 1)}

    def on_event(event: NodeEvent) -> None:
        if isinstance(event, TaskDone):
            done[event.node].release()

    source = LocalNodeSource(WORKERS, root / "nodes")
    source.start(on_event)
    try:
        (root / "local").mkdir()
        agents = [psutil.Process(source.agent_pid(node)) for node in done]

        def serve(node: str, first: int, count: int) -> None:
            for number in range(first, first + count):
                source.run(node, _node_side_spec(root, node, number))
                done[node].acquire()

        for node in done:  # a first task each, outside the window
            serve(node, -1, 1)
        before = [(_cpu_of(a, reaped=False), _minor_faults(a.pid)) for a in agents]
        tree = sum(_cpu_of(p) for a in agents for p in [a, *a.children(recursive=True)])
        start = time.perf_counter()
        threads = [threading.Thread(target=serve, args=(node, 0, per_node)) for node in done]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        tree = sum(_cpu_of(p) for a in agents for p in [a, *a.children(recursive=True)]) - tree
        agent_cpu = sum(_cpu_of(a, reaped=False) - b[0] for a, b in zip(agents, before, strict=True))
        faults = sum(_minor_faults(a.pid) - b[1] for a, b in zip(agents, before, strict=True))
    finally:
        source.stop()
        shutil.rmtree(root, ignore_errors=True)
    return wall, tree, agent_cpu, faults


def _node_side_spec(root: Path, node: str, number: int) -> TaskSpec:
    name = f"{node}t{number}"
    return TaskSpec(
        job_id="1", job_name="NodeSide", task_id=name, task_name=f"T{number}", execution=1, owner="bench",
        iteration=0, replication=0, variables={"PA_JOB_ID": "1"}, generic_information={},
        executable=ScriptExecutable(Script("cpython", code="pass")),
        localspace=str(root / "local" / name), log_path=str(root / "logs" / f"{name}.log"),
    )  # fmt: skip


def measure_jvm_tasks(tasks: int, progress: Callable[[str], None]) -> None:
    """Print the wall and CPU per task of no-op groovy and javascript tasks against no-op cpython
    tasks on the same platform, forked and ``fork=False`` (and contained, when this runyard has it).

    Each job runs twice, the second timed. Uncontained, the nodes' JVMs are warm by then. Contained,
    a job is a scope of its own: its first JVM script on each node starts that scope's JVM, and the
    timed figure includes those starts (the 1-task job of a new scope is printed apart). CPU: a JVM
    started by a one-shot task process (forked rows) leaves the measured tree when that process exits
    (it is reparented), so those rows' CPU leaves the JVM out; fork=false rows count it."""
    rows: list[list[str]] = []
    notes: list[str] = []
    for contained in [False, True] if CONTAINMENT else [False]:
        with started_platform(None, contained=contained) as (platform, _):
            for fork in (None, False):
                label = " ".join(
                    [runyard_label(None)] + ["contained"] * contained + ["fork=false"] * (fork is False)
                )
                per_task: dict[str, tuple[float, float]] = {}
                for language in NO_OPS:
                    progress(f"{tasks} no-op {language} tasks on {label}")
                    run_job(platform, no_op_job(language, tasks, fork))
                    before = tree_cpu()
                    _, wall = run_job(platform, no_op_job(language, tasks, fork))
                    cpu = (tree_cpu() - before).total
                    per_task[language] = (wall / tasks, cpu / tasks)
                    rows.append(
                        [label, language, f"{wall:.2f}", ms(wall / tasks), f"{cpu:.2f}", ms(cpu / tasks)]
                    )
                for language in ("groovy", "javascript"):
                    (jvm_wall, jvm_cpu), (python_wall, python_cpu) = per_task[language], per_task["cpython"]
                    ratio = jvm_wall / python_wall
                    target = f"target ≤ {TARGET_JVM_VS_CPYTHON:.0f}{TIMES}"
                    notes.append(
                        f"  {label}: {language} / cpython wall per task {ratio:.2f}{TIMES}   "
                        f"{target}: {verdict(ratio <= TARGET_JVM_VS_CPYTHON)}; "
                        f"CPU per task {jvm_cpu / python_cpu:.2f}{TIMES}"
                    )
            if contained:
                groovy, python = (
                    statistics.median(run_job(platform, no_op_job(language, 1))[1] for _ in range(3))
                    for language in ("groovy", "cpython")
                )
                notes.append(
                    f"  {label}: a 1-task groovy job (a new scope: its JVM starts) {ms(groovy)}, "
                    f"a 1-task cpython job {ms(python)} (medians of 3)"
                )
    print(f"\n{tasks} no-op tasks per language on {WORKERS} workers, second run (wall and CPU in seconds)")
    print_table(["platform", "language", "wall", "wall/task", "CPU", "CPU/task"], rows)
    print("\n".join(notes))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_arguments(argv)

    def progress(message: str) -> None:
        print(f"  … {message}", file=sys.stderr, flush=True)

    databases: list[str | None] = [None] if args.database_url is None else [None, args.database_url]
    print(f"runyard engine overhead, {time.strftime('%Y-%m-%d %H:%M')}, Python {sys.version.split()[0]}")
    print(f"runyard from {Path(runyard.__file__).parent}")
    print(f"at start: {load_line()} (the machine is shared: read the figures with it)", flush=True)

    only = set(args.only)
    memory = []
    for url in databases if "memory" in only else []:
        progress(f"memory run: {args.memory_tasks:,} tasks on {runyard_label(url)}")
        memory.append((runyard_label(url), measure_memory(args.memory_tasks, url)))
    containment = [False, True] if CONTAINMENT and "contained" in only else [False]
    latencies = []
    for contained in containment if "latency" in only else []:
        label = runyard_label(None) + (CONTAINED if contained else "")
        progress(f"first-start latency: {args.latency_samples} 1-task jobs on {label}")
        latencies.append((label, measure_first_start(args.latency_samples, None, contained=contained)))

    systems: dict[str, Callable[[], Run]] = {
        runyard_label(u): partial(run_runyard, args.tasks, u)
        for u in databases
        if ("local" if u is None else "database") in only
    }
    for contained in containment:
        suffix = CONTAINED if contained else ""
        if contained:
            systems[runyard_label(None) + suffix] = partial(run_runyard, args.tasks, None, contained=True)
        if "fork-false" in only:
            systems[f"{runyard_label(None)}{suffix} fork=false"] = partial(
                run_runyard, args.tasks, None, fork=False, contained=contained
            )
    if "dask" in only:
        systems[DASK] = partial(run_dask, args.tasks)
    if "subprocess" in only:
        systems[SUBPROCESS] = partial(run_subprocesses, args.tasks)
    runs = measure_walls(systems, args.repeat, progress)

    if runs:
        print_walls(runs, args.tasks)
    print_targets(runs, latencies, memory)
    if CONTAINMENT and "contained" in only:
        print_containment(runs, args.tasks)
    if "hosted" in only:
        print_dask_hosted(args.tasks, args.repeat, progress)
    if "r" in only:
        measure_r_tasks(max(args.tasks // 10, 10), progress)
    if "jvm" in only:
        measure_jvm_tasks(args.tasks, progress)
    if "nodes" in only:
        measure_node_side(args.tasks, args.repeat, progress)
    print(f"\nat end: {load_line()}")


if __name__ == "__main__":
    main()
