"""The shared corpus of real workflow files, parsed once per test session."""

from __future__ import annotations

import functools
from pathlib import Path

from runyard import formats
from runyard.model import Workflow

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
DESCRIPTORS = CORPUS / "scheduler-descriptors"
EXAMPLES = CORPUS / "proactive-examples"


def _is_job(path: Path) -> bool:
    head = path.read_bytes()[:2000]
    return b"<job" in head


JOB_FILES = sorted(p for p in [*EXAMPLES.rglob("*.xml"), *DESCRIPTORS.glob("*.xml")] if _is_job(p))
FLOW_FAIL = sorted(DESCRIPTORS.glob("flow_fail_*.xml"))
FLOW_VALID = sorted(DESCRIPTORS.glob("flow_valid_*.xml"))


def file_id(path: Path) -> str:
    return str(path.relative_to(CORPUS))


@functools.cache
def parsed(path: Path) -> Workflow:
    """The workflow in ``path``, not validated (flow_fail files are invalid on purpose)."""
    return formats.load(path, validate=False)
