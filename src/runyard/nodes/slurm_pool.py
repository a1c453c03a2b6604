"""The pool of a ``slurm`` source (docs/slurm.md): a Dask scheduler in a detached process of its own on the
server's host, and worker jobs that dask-jobqueue's ``SLURMJob`` writes and the source submits, so that
neither depends on the server's process.

Everything a restarted server needs is in the source's folder, written before it is used: the
scheduler's certificate (``jobs/pool.pem``), its process id (``pool/scheduler.pid``, written by that
process itself, before it listens) and address (``pool/scheduler.json``), and the worker jobs
(``pool/jobs.json``: job ids by worker name, and the number of the next worker). :meth:`Pool.open`
finds a live scheduler again (its process id names a process that serves a pool scheduler, and its
address answers) and keeps the jobs ``squeue`` still has; a scheduler found dead makes the pool stale:
its jobs are cancelled, its files removed, and a new pool starts. :meth:`Pool.end` ends it all (the
source removed); a server that stops leaves it running.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from runyard.errors import NodeError
from runyard.nodes import slurm_jobs

log = logging.getLogger(__name__)

#: Seconds the pool's scheduler process has to write its address.
SCHEDULER_START_TIMEOUT = 30.0
#: The worker names of the pool's jobs: ``<prefix>-<n>`` (its nodes: ``<source>-<prefix>-<n>-<i>``).
WORKER_PREFIX = "SLURMCluster"
#: What the pool's scheduler process runs (also how a process id is recognised as one).
ENTRY = "from runyard.nodes.slurm_pool import serve_pool_scheduler; serve_pool_scheduler()"


class Pool:
    """The pool's scheduler process and worker jobs, as recorded in ``folder`` (``<work_dir>/pool``)."""

    def __init__(self, folder: Path, jobs_folder: Path, job_options: dict[str, Any], interface: str | None):
        self.folder = folder
        self.jobs_folder = jobs_folder
        self.job_options = job_options  # dask-jobqueue ``SLURMJob`` options, scheduler and name aside
        self.interface = interface
        self.address = ""
        self.security: Any = None
        self.adopted = False  # found running after a restart (else started anew)
        self._jobs: dict[str, str] = {}  # worker name -> SLURM job id
        self._next = 1
        self._ended = False  # no job is submitted any more
        self._lock = threading.Lock()

    @property
    def pem(self) -> Path:
        return self.jobs_folder / "pool.pem"

    # -- the scheduler ----------------------------------------------------------------------

    def open(self) -> None:
        """Find the recorded pool (a live scheduler: its jobs still queued are kept), else start a new
        one (a recorded pool whose scheduler is dead is ended first)."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        recorded = self._read_jobs()
        address = self._live_address()
        if address is not None and self.pem.exists():
            self.address, self.security, self.adopted = address, slurm_jobs.load_security(self.pem), True
            with self._lock:
                self._jobs, self._next = recorded
            try:
                self.prune()
            except NodeError as error:  # squeue did not answer: the recorded jobs are kept, looked at later
                log.warning("slurm pool %s: %s", self.folder, error)
            log.info(
                "slurm pool %s: scheduler at %s found again, %d jobs", self.folder, address, len(self._jobs)
            )
            return
        if recorded[0] or self._pid() is not None:
            log.warning("slurm pool %s: its scheduler is gone: the pool starts anew", self.folder)
            self._jobs, self._next = recorded
            self.end()
            self._ended = False  # the new pool's jobs are yet to come
        self._start_scheduler()

    def _start_scheduler(self) -> None:
        self.security = slurm_jobs.make_security(self.pem)
        settings = self.folder / "scheduler-settings.json"
        settings.write_text(
            json.dumps({"folder": str(self.folder), "pem": str(self.pem), "interface": self.interface})
        )
        (self.folder / "scheduler.json").unlink(missing_ok=True)
        with open(self.folder / "scheduler.log", "ab") as output:
            launcher = subprocess.Popen(  # it forks the scheduler off and ends: the server has no child left
                [sys.executable, "-c", ENTRY, str(settings)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
                close_fds=True,
            )
        launcher.wait(SCHEDULER_START_TIMEOUT)
        deadline = time.monotonic() + SCHEDULER_START_TIMEOUT
        while (address := _address(self.folder)) is None:
            if time.monotonic() > deadline or (self._pid() is None and launcher.returncode != 0):
                self.end()
                raise NodeError(
                    f"the pool's Dask scheduler did not start (see {self.folder / 'scheduler.log'})"
                )
            time.sleep(0.05)
        self.address, self.adopted = address, False
        self._write_jobs()

    def _pid(self) -> int | None:
        """The recorded scheduler process, if it is alive and one of ours."""
        try:
            pid = int((self.folder / "scheduler.pid").read_text())
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if b"serve_pool_scheduler" in command else None

    def _live_address(self) -> str | None:
        """The recorded scheduler's address, if its process is alive and the address answers."""
        address = _address(self.folder)
        if self._pid() is None or address is None:
            return None
        host, _, port = address.split("://", 1)[-1].rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except (OSError, ValueError):
            return None
        return address

    # -- the worker jobs --------------------------------------------------------------------

    def scale(self, jobs: int) -> None:
        """Submit jobs up to ``jobs``, or cancel the newest beyond it."""
        with self._lock:
            while len(self._jobs) < jobs and not self._ended:
                name = f"{WORKER_PREFIX}-{self._next}"
                self._next += 1
                self._jobs[name] = ""  # recorded before sbatch: a job id may come back from it
                self._write_jobs()
                self._jobs[name] = slurm_jobs.submit(self._job_script(name))
                self._write_jobs()
            extra = sorted(self._jobs, key=_number)[jobs:]
            for name in extra:
                self._cancel(self._jobs.pop(name))
            if extra:
                self._write_jobs()

    def prune(self) -> int:
        """Forget the jobs that ended (walltime, ``scancel``, a SLURM node lost); how many are left."""
        with self._lock:
            ended = [name for name, job in self._jobs.items() if not job or slurm_jobs.state(job) is None]
            for name in ended:
                del self._jobs[name]
            if ended:
                self._write_jobs()
            return len(self._jobs)

    def job_ids(self) -> list[str]:
        with self._lock:
            return [job for job in self._jobs.values() if job]

    def _job_script(self, name: str) -> str:
        """dask-jobqueue's own batch script for a worker of this pool's scheduler."""
        job = _slurm_job_class()(
            scheduler=self.address, name=name, security=self.security, **self.job_options
        )
        return str(job.job_script())

    def _cancel(self, job_id: str) -> None:
        if job_id:
            try:
                slurm_jobs.cancel(job_id)
            except NodeError as error:
                log.warning("slurm pool %s: job %s: %s", self.folder, job_id, error)

    # -- the end ----------------------------------------------------------------------------

    def end(self) -> None:
        """Cancel the jobs, end the scheduler process, remove the records."""
        with self._lock:
            self._ended = True
            for job in self._jobs.values():
                self._cancel(job)
            self._jobs.clear()
        pid = self._pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while self._pid() == pid and time.monotonic() < deadline:
                time.sleep(0.05)
            if self._pid() == pid:
                os.kill(pid, signal.SIGKILL)
        for file in ("scheduler.pid", "scheduler.json", "jobs.json"):
            (self.folder / file).unlink(missing_ok=True)

    def _read_jobs(self) -> tuple[dict[str, str], int]:
        try:
            recorded = json.loads((self.folder / "jobs.json").read_text())
            return {str(k): str(v) for k, v in recorded["jobs"].items()}, int(recorded["next"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}, 1

    def _write_jobs(self) -> None:
        partial = self.folder / "jobs.partial"
        partial.write_text(json.dumps({"jobs": self._jobs, "next": self._next}))
        os.replace(partial, self.folder / "jobs.json")


def end_pool(work_dir: Path) -> None:
    """End the pool recorded in a ``slurm`` source's folder (jobs, scheduler), if any."""
    pool = Pool(work_dir / "pool", work_dir / "jobs", {}, None)
    pool._jobs, pool._next = pool._read_jobs()
    pool.end()


def _address(folder: Path) -> str | None:
    try:
        address = json.loads((folder / "scheduler.json").read_text()).get("address")
    except (OSError, ValueError):
        return None
    return address if isinstance(address, str) else None


def _number(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


_IMPORT_LOCK = threading.Lock()


def _slurm_job_class() -> Any:
    """dask-jobqueue's ``SLURMJob``. Importing dask-jobqueue sets a SIGINT handler (in its ``runner``
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
    return sys.modules["dask_jobqueue.slurm"].SLURMJob


def serve_pool_scheduler() -> None:
    """The pool's scheduler process (``sys.argv[1]``: its settings): forked off its launcher, in a session
    of its own, it records its process id, then serves until it is ended (``Pool.end``)."""
    if os.fork() > 0:
        os._exit(0)
    settings = json.loads(Path(sys.argv[1]).read_text())
    folder = Path(settings["folder"])
    os.chdir(folder)
    (folder / "scheduler.pid").write_text(str(os.getpid()))
    asyncio.run(_serve(folder, Path(settings["pem"]), settings["interface"]))


async def _serve(folder: Path, pem: Path, interface: str | None) -> None:
    from distributed import Scheduler

    scheduler = Scheduler(
        protocol="tls",
        interface=interface,
        port=0,
        security=slurm_jobs.load_security(pem),
        dashboard=False,
        dashboard_address="127.0.0.1:0",  # its HTTP server (health, metrics) stays on this host's loopback
    )
    async with scheduler:
        written = folder / "scheduler.partial"
        written.write_text(json.dumps({"address": scheduler.address}))
        os.replace(written, folder / "scheduler.json")
        await scheduler.finished()  # type: ignore[no-untyped-call]
