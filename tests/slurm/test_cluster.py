"""The test cluster itself: SLURM runs batch jobs with their options (test_slurm_source.py runs Dask
workers on it, through the ``slurm`` node source)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


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
