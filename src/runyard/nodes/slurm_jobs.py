"""The SLURM job of a ``NATIVE_SCHEDULER`` task (docs/slurm.md): its batch script, what runs in it, its
record on the server, and SLURM's commands for it.

The job is self-contained: one process (:func:`serve_native_job`) runs a Dask scheduler and one worker
with TLS, and writes the scheduler's address to a file on the shared file system. The server connects to
it as a client (a ``dask`` source over that address), so the job does not depend on the server's process:
a server that stops, or is killed, finds it again after its restart from the job's record
(:class:`JobRecord`, in the source's folder) and adopts what runs there; the worker holds an ended
execution's outcome until a server takes it. The job ends when the server cancels it (``scancel``), or
at its walltime.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shlex
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from runyard.errors import NodeError

#: Seconds a SLURM command (sbatch, squeue, scancel) may take.
COMMAND_TIMEOUT = 30.0
#: The states of a job that may still run (``squeue``'s long names); the others are ending or ended.
ALIVE = frozenset(
    {"PENDING", "CONFIGURING", "RUNNING", "SUSPENDED", "STOPPED", "RESIZING", "REQUEUED", "REQUEUE_HOLD"}
)


@dataclass
class JobRecord:
    """What the server keeps of a native task's job, written before each step that needs it after a
    restart: before ``sbatch`` (``job_id`` unknown), once submitted, and before the run is sent."""

    task_id: str
    execution: int
    stem: str  # the job's files in the jobs folder: <stem>.pem, .json (its settings), .scheduler.json
    job_id: str | None = None
    sent: bool = False  # the run was (or is being) sent to the job's worker

    @classmethod
    def read(cls, path: Path) -> JobRecord | None:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):  # not one of ours: nothing to adopt
            return None

    def write(self, path: Path) -> None:
        """Written whole or not at all (a new file renamed over the old)."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(asdict(self)))
        os.replace(partial, path)


def batch_script(
    *, job_name: str, folder: Path, stem: str, queue: str | None, cores: int, memory: int,
    walltime: str | None, directives: list[str], python: str,
) -> str:  # fmt: skip
    """The batch script of a native task's job: the source's resources, then ``directives`` (the source's
    ``job_extra_directives`` and the task's parameters, checked: later lines win, so ``-J`` renames it)."""
    lines = [
        "#!/usr/bin/env bash",
        f"#SBATCH -J {job_name}",
        f"#SBATCH -e {folder}/{stem}-%J.err",
        f"#SBATCH -o {folder}/{stem}-%J.out",
        *([f"#SBATCH -p {queue}"] if queue else []),
        "#SBATCH -n 1",
        f"#SBATCH --cpus-per-task={cores}",
        f"#SBATCH --mem={math.ceil(memory / 2**20)}M",
        *([f"#SBATCH -t {walltime}"] if walltime else []),
        *(f"#SBATCH {directive}" for directive in directives),
        # exec: the job's process is SLURM's own batch step, which it signals when the job ends
        f"exec {shlex.quote(python)} -c 'from runyard.nodes.slurm_jobs import serve_native_job; "
        f"serve_native_job()' {shlex.quote(str(folder / f'{stem}.json'))}",
    ]
    return "\n".join(lines) + "\n"


def submit(script: str) -> str:
    """``sbatch`` the script; the job's id."""
    done = _slurm(["sbatch", "--parsable"], script)
    job_id = done.stdout.strip().split(";")[0]
    if done.returncode != 0 or not job_id.isdigit():
        raise NodeError(f"sbatch refused the task's job: {(done.stderr or done.stdout).strip()[:500]}")
    return job_id


def state(job_id: str) -> str | None:
    """The job's state as ``squeue`` says it (``PENDING``, ``RUNNING``…), ``None`` once it is gone."""
    done = _slurm(["squeue", "-h", "-j", job_id, "-o", "%T"])
    if done.returncode != 0:
        if "Invalid job id" in done.stderr:
            return None  # ended long enough ago that SLURM forgot it
        raise NodeError(f"squeue cannot say what job {job_id} does: {done.stderr.strip()[:500]}")
    found = done.stdout.strip()
    return found if found in ALIVE else None


def cancel(job_id: str) -> None:
    """``scancel`` the job (gone already: nothing to do)."""
    _slurm(["scancel", job_id])


def _slurm(command: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NodeError(f"{command[0]}: {error}") from None


def scheduler_address(folder: Path, stem: str) -> str | None:
    """The address of the job's Dask scheduler, once the job wrote it."""
    try:
        address = json.loads((folder / f"{stem}.scheduler.json").read_text()).get("address")
    except (FileNotFoundError, ValueError):  # not yet, or being written
        return None
    return address if isinstance(address, str) else None


def remove_files(folder: Path, stem: str) -> None:
    """Forget a job's files (its settings, certificate, scheduler address and SLURM's logs of it)."""
    for suffix in (".pem", ".json", ".scheduler.json"):
        (folder / f"{stem}{suffix}").unlink(missing_ok=True)
    for log in (*folder.glob(f"{stem}-*.out"), *folder.glob(f"{stem}-*.err")):
        log.unlink(missing_ok=True)


def make_security(path: Path) -> Any:
    """TLS for a cluster: a certificate and key made for it (by ``distributed``), which every role uses,
    kept in ``path`` (0600) where its jobs read them."""
    from distributed.security import Security

    made = Security.temporary()  # type: ignore[no-untyped-call]  # distributed is not annotated
    path.touch(mode=0o600)
    path.write_text(made.tls_ca_file + made.tls_worker_cert + made.tls_worker_key)
    return load_security(path)


def load_security(path: Path) -> Any:
    """The ``distributed.Security`` of the certificate and key in ``path`` (see :func:`make_security`)."""
    from distributed.security import Security

    files = {
        f"tls_{role}_{part}": str(path)
        for role in ("scheduler", "worker", "client")
        for part in ("cert", "key")
    }
    return Security(tls_ca_file=str(path), require_encryption=True, **files)  # type: ignore[no-untyped-call]


def write_settings(folder: Path, stem: str, *, cores: int, memory: int, interface: str | None) -> None:
    """What :func:`serve_native_job` reads in the job."""
    settings = {"folder": str(folder), "stem": stem, "cores": cores, "memory": memory, "interface": interface}
    (folder / f"{stem}.json").write_text(json.dumps(settings))


def serve_native_job() -> None:
    """The job's process: a Dask scheduler and one worker, until SLURM ends the job (``sys.argv[1]``: the
    settings :func:`write_settings` wrote)."""
    settings = json.loads(Path(sys.argv[1]).read_text())
    asyncio.run(_serve(settings))


async def _serve(settings: dict[str, Any]) -> None:
    from distributed import Scheduler, Worker

    folder, stem = Path(settings["folder"]), settings["stem"]
    security = load_security(folder / f"{stem}.pem")
    written = folder / f"{stem}.scheduler.partial"
    scheduler = Scheduler(
        protocol="tls",
        interface=settings["interface"],
        port=0,
        security=security,
        dashboard=False,
        dashboard_address="127.0.0.1:0",  # its HTTP server (health, metrics) stays on the job's loopback
    )
    async with scheduler:
        worker = Worker(
            scheduler.address,
            nthreads=settings["cores"],
            memory_limit=settings["memory"],
            security=security,
            interface=settings["interface"],
            local_directory=str(folder),
            name=stem,
            dashboard=False,
        )
        async with worker:
            written.write_text(json.dumps({"address": scheduler.address}))
            os.replace(written, folder / f"{stem}.scheduler.json")  # the server reads it whole
            await worker.finished()  # type: ignore[no-untyped-call]
