"""Dask-hosted runyard nodes against Dask alone, on no-op tasks (docs/dask.md, "Speed").

One ``LocalCluster(n_workers=2, threads_per_worker=1)`` serves both: first Dask maps a no-op
function over it, then a platform whose only node source is a ``dask`` source on that cluster's
scheduler (one node per worker) runs a job of as many no-op ``cpython`` tasks. Prints both wall
times, their ratio and the load average; asserts nothing. ``engine_overhead.py`` calls
:func:`measure`; run alone: ``python bench/dask_nodes.py [--tasks N]``.
"""

from __future__ import annotations

import argparse
import logging
import os
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

    @property
    def ratio(self) -> float:
        return self.runyard / self.dask


def noop(_: int) -> None:
    """The Dask task."""


def measure(tasks: int = 1000) -> Walls:
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
        workflow = Workflow(
            name="DaskNodes",
            tasks=[
                Task(name=f"T{i}", executable=ScriptExecutable(Script("cpython", code="pass")))
                for i in range(tasks)
            ],
        )
        with (
            tempfile.TemporaryDirectory(prefix="runyard-bench-") as folder,
            Platform(Settings(data_dir=Path(folder), node_sources=(source,))) as platform,
        ):
            deadline = time.monotonic() + 60
            while sum(node.alive for node in platform.nodes.nodes()) < WORKERS:
                if time.monotonic() > deadline:
                    raise RuntimeError("the Dask-hosted nodes did not come up")
                time.sleep(0.1)
            began = time.perf_counter()
            status = platform.wait(platform.submit(workflow))
            runyard = time.perf_counter() - began
            if status is not JobStatus.FINISHED:
                raise RuntimeError(f"the job on Dask-hosted nodes ended {status}")
    return Walls(dask, runyard, os.getloadavg()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    walls = measure(parser.parse_args().tasks)
    print(
        f"Dask LocalCluster(2x1): {walls.dask:.1f} s; 2 Dask-hosted runyard nodes: {walls.runyard:.1f} s; "
        f"ratio {walls.ratio:.2f}x (load average {walls.load:.1f})"
    )


if __name__ == "__main__":
    main()
