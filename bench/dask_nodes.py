"""Dask-hosted runyard nodes against Dask alone, on no-op tasks (docs/dask.md, "Speed").

One ``LocalCluster(n_workers=2, threads_per_worker=1)`` serves both: first Dask maps a no-op
function over it, then a platform whose only node source is a ``dask`` source on that cluster's
scheduler (one node per worker) runs a job of as many no-op ``cpython`` tasks; with ``--local``, then
a platform with 2 local nodes (the Dask-hosted nodes' own cost per task, the engine's, without Dask).
Prints the wall times, the ratios and the load average; asserts nothing. ``engine_overhead.py`` calls
:func:`measure`; run alone: ``python bench/dask_nodes.py [--tasks N] [--repeat N] [--local]`` (the
medians of the ratios when repeated, each run on a fresh cluster). Before and after a change, run it
alternately against both checkouts (``PYTHONPATH=<checkout>/src``).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from runyard.model import JobStatus, Script, ScriptExecutable, Task, Workflow
from runyard.platform import Platform
from runyard.settings import NodeSourceConfig, Settings

WORKERS = 2


@dataclass(frozen=True)
class Walls:
    """Seconds from submission to the end of the tasks, for each system."""

    dask: float
    runyard: float
    load: float  # the 1-minute load average once both ran
    local: float | None = None  # the same tasks on 2 local nodes, when asked for

    @property
    def ratio(self) -> float:
        return self.runyard / self.dask


def noop(_: int) -> None:
    """The Dask task."""


def no_op_job(tasks: int) -> Workflow:
    script = ScriptExecutable(Script("cpython", code="pass"))
    return Workflow(name="DaskNodes", tasks=[Task(name=f"T{i}", executable=script) for i in range(tasks)])


def run_job(settings: Settings, tasks: int) -> float:
    """Seconds a platform configured by ``settings`` takes to run ``tasks`` no-op tasks, once its
    ``WORKERS`` nodes are up."""
    with Platform(settings) as platform:
        deadline = time.monotonic() + 60
        while sum(node.alive for node in platform.nodes.nodes()) < WORKERS:
            if time.monotonic() > deadline:
                raise RuntimeError("the nodes did not come up")
            time.sleep(0.1)
        began = time.perf_counter()
        status = platform.wait(platform.submit(no_op_job(tasks)))
        wall = time.perf_counter() - began
        if status is not JobStatus.FINISHED:
            raise RuntimeError(f"the job ended {status}")
    return wall


def measure(tasks: int = 1000, local: bool = False) -> Walls:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=WORKERS, threads_per_worker=1, dashboard_address=None, silence_logs=logging.ERROR
    )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        client.wait_for_workers(WORKERS)
        began = time.perf_counter()
        client.gather(client.map(noop, range(tasks), pure=False))
        dask = time.perf_counter() - began
        source = NodeSourceConfig("dask", "dask", {"scheduler": cluster.scheduler_address})
        with tempfile.TemporaryDirectory(prefix="runyard-bench-") as folder:
            runyard = run_job(Settings(data_dir=Path(folder), node_sources=(source,)), tasks)
    locally = None
    if local:
        with tempfile.TemporaryDirectory(prefix="runyard-bench-") as folder:
            locally = run_job(Settings(data_dir=Path(folder), nodes=WORKERS), tasks)
    return Walls(dask, runyard, os.getloadavg()[0], locally)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1, help="runs, each on a fresh cluster")
    parser.add_argument("--local", action="store_true", help="also the same tasks on 2 local nodes")
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeat):
        walls = measure(args.tasks, args.local)
        runs.append(walls)
        local = "" if walls.local is None else f"; 2 local nodes: {walls.local:.1f} s"
        print(
            f"Dask LocalCluster(2x1): {walls.dask:.1f} s; 2 Dask-hosted runyard nodes: {walls.runyard:.1f} s"
            f"{local}; ratio {walls.ratio:.2f}x (load average {walls.load:.1f})",
            flush=True,
        )
    if args.repeat > 1:
        median = statistics.median(w.ratio for w in runs)
        print(f"median ratio Dask-hosted / Dask: {median:.2f}x", end="")
        if args.local:
            hosted_local = statistics.median(w.runyard / w.local for w in runs if w.local)
            local_dask = statistics.median(w.local / w.dask for w in runs if w.local)
            print(f"; Dask-hosted / local: {hosted_local:.2f}x; local / Dask: {local_dask:.2f}x", end="")
        print()


if __name__ == "__main__":
    main()
