"""The test cluster itself: SLURM runs batch jobs with their options, and dask-jobqueue starts Dask workers
as SLURM jobs on it (what the ``slurm`` node source is built on)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from dask_jobqueue.slurm import SLURMCluster
from distributed import Client


def test_a_batch_job_runs_with_its_options(slurm_conf: Path, tmp_path: Path) -> None:
    out = tmp_path / "job.out"
    job_id = subprocess.run(
        ["sbatch", "--parsable", "--job-name=runyard-probe", "--time=1", f"--output={out}",
         "--wrap", "echo $SLURM_JOB_ID $SLURM_JOB_NAME"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    deadline = time.monotonic() + 30
    while not out.is_file() or not out.read_text().strip():
        assert time.monotonic() < deadline, "the batch job did not run within 30 s"
        time.sleep(0.2)
    assert out.read_text().split() == [job_id, "runyard-probe"]


def test_dask_jobqueue_starts_workers_as_slurm_jobs(slurm_conf: Path, tmp_path: Path) -> None:
    with (
        SLURMCluster(
            cores=1,
            memory="512MB",
            processes=1,
            walltime="00:05:00",
            job_name="runyard-dask",
            log_directory=str(tmp_path),
            local_directory=str(tmp_path),
            scheduler_options={"host": "127.0.0.1", "dashboard_address": None},
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]  # distributed is not annotated
    ):
        cluster.scale(jobs=1)
        client.wait_for_workers(1, timeout=60)
        (job_id,) = client.run(lambda: os.environ["SLURM_JOB_ID"]).values()
        queued = subprocess.run(
            ["squeue", "-h", "-j", job_id, "-o", "%j %T"], capture_output=True, text=True, check=True
        )
        assert queued.stdout.split() == ["runyard-dask", "RUNNING"]
