"""A real two-host Dask cluster for the package: the scheduler and the ``remote`` worker in a network
namespace of their own (a second host), the ``main`` worker on this host, with runyard importable on both
(the workers host runyard's nodes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from distributed import Client

from support.netns import Host, second_host

DASK = str(Path(sys.executable).parent / "dask")
PORT = 8786  # the namespace is the scheduler's own: no other process there


@dataclass
class Cluster:
    """The scheduler at ``address``; workers by name (``main`` here, ``remote`` on the second host)."""

    host: Host
    folder: Path
    address: str
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    scheduler: subprocess.Popen[bytes] | None = None

    def start_scheduler(self) -> None:
        argv = [DASK, "scheduler", "--host", self.host.address, "--port", str(PORT), "--no-dashboard"]
        with open(self.folder / "scheduler.log", "ab") as log:
            self.scheduler = self.host.popen(argv, stdout=log, stderr=log, start_new_session=True)

    def kill_scheduler(self) -> None:
        assert self.scheduler is not None
        os.kill(self.scheduler.pid, signal.SIGKILL)
        self.scheduler.wait()

    def host_of(self, worker: str) -> str:
        return self.host.address if worker == "remote" else self.host.host_address

    def start_worker(self, name: str) -> None:
        """Start worker ``name`` (no nanny: killing its process kills the worker) and wait for it."""
        argv = [
            DASK, "worker", self.address, "--name", name, "--host", self.host_of(name),
            "--nthreads", "2", "--no-nanny", "--local-directory", str(self.folder / name),
        ]  # fmt: skip
        with open(self.folder / f"{name}.log", "ab") as log:
            popen = self.host.popen if name == "remote" else subprocess.Popen
            self.workers[name] = popen(argv, stdout=log, stderr=log, start_new_session=True)
        self.wait_for(name)

    def wait_for(self, *names: str, timeout: float = 60.0) -> None:
        with Client(self.address, timeout=timeout) as client:  # type: ignore[no-untyped-call]
            deadline = time.monotonic() + timeout
            while {str(w["name"]) for w in client.scheduler_info()["workers"].values()} < set(names):
                assert time.monotonic() < deadline, f"workers {names} not up; see {self.folder}/*.log"
                time.sleep(0.1)

    def kill(self, name: str) -> None:
        process = self.workers.pop(name)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("dask-cluster")
    with second_host("rydask") as host:
        started = Cluster(host, folder, f"tcp://{host.address}:{PORT}")
        started.start_scheduler()
        for name in ("remote", "main"):
            started.start_worker(name)
        try:
            yield started
        finally:
            for name in list(started.workers):
                started.kill(name)
