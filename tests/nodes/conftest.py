"""Fixtures for the node tests: task specs in a temporary folder, and a local node source."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runyard.model import Script, ScriptExecutable
from runyard.nodes.local import LocalNodeSource
from runyard.nodes.protocol import TaskSpec
from support.nodes import Events, SpecFactory

_ids = itertools.count(1)


@pytest.fixture
def make_spec(tmp_path: Path) -> SpecFactory:
    """``make_spec(code_or_script, **fields)``: a cpython task (unless another executable is given)."""

    def make(main: str | Script = "result = 1", **fields: Any) -> TaskSpec:
        number = next(_ids)
        script = main if isinstance(main, Script) else Script(language="cpython", code=main)
        values: dict[str, Any] = {
            "job_id": "7",
            "job_name": "job",
            "task_id": f"7t{number}",
            "task_name": f"T{number}",
            "execution": 1,
            "owner": "tester",
            "iteration": 0,
            "replication": 0,
            "variables": {"PA_JOB_ID": "7", "NAME": "world"},
            "generic_information": {},
            "executable": ScriptExecutable(script),
            "localspace": str(tmp_path / "spaces" / f"t{number}"),
            "userspace": str(tmp_path / "user"),
            "globalspace": str(tmp_path / "global"),
            "log_path": str(tmp_path / "logs" / f"t{number}.log"),
        }
        values.update(fields)
        return TaskSpec(**values)

    return make


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def local_nodes(tmp_path: Path, events: Events) -> Iterator[LocalNodeSource]:
    source = LocalNodeSource(2, tmp_path / "nodes", host_name="testhost")
    source.start(events)
    try:
        yield source
    finally:
        source.stop()
