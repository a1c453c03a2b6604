"""The SLURM cluster the tests submit to: ``$SLURM_CONF`` (``scripts/test`` starts one and sets it), else a
throwaway cluster this session starts with ``scripts/slurm`` (as root, with Debian's slurm-wlm installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.needs import missing

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "slurm"


@pytest.fixture(scope="session")
def slurm_conf() -> Iterator[Path]:
    """The ``slurm.conf`` of a running cluster, also exported as ``SLURM_CONF`` for SLURM's commands."""
    configured = os.environ.get("SLURM_CONF")
    if configured:
        yield Path(configured)
        return
    if shutil.which("slurmctld") is None or os.geteuid() != 0:
        missing(
            "SLURM is needed: run as root with Debian's slurm-wlm and munge (scripts/setup installs them)"
        )
    folder = Path(tempfile.mkdtemp(prefix="runyard-slurm-"))
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", "--dir", str(folder)], capture_output=True, text=True, check=False
    )
    if started.returncode != 0:
        missing(f"scripts/slurm start failed: {started.stderr.strip()}")
    conf = Path(started.stdout.strip())
    os.environ["SLURM_CONF"] = str(conf)
    try:
        yield conf
    finally:
        del os.environ["SLURM_CONF"]
        subprocess.run(["bash", str(SCRIPT), "stop", "--dir", str(folder), "--purge"], check=False)
