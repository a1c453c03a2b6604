"""Fixtures for the node tests: task specs in a temporary folder, and a local node source."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runyard.model import Script, ScriptExecutable
from runyard.nodes.local import LocalNodeSource
from runyard.nodes.protocol import NodeEvent, TaskDone, TaskSpec

SpecFactory = Callable[..., TaskSpec]
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


@dataclass
class Events:
    """Collects node events; ``wait`` blocks until one matches."""

    seen: list[NodeEvent] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, event: NodeEvent) -> None:
        with self.changed:
            self.seen.append(event)
            self.changed.notify_all()

    def wait(self, match: Callable[[NodeEvent], bool], timeout: float = 20.0) -> NodeEvent:
        def first() -> NodeEvent | None:
            return next((event for event in self.seen if match(event)), None)

        with self.changed:
            assert self.changed.wait_for(lambda: first() is not None, timeout), (
                f"no matching event within {timeout} s; seen: {self.seen}"
            )
            event = first()
            assert event is not None
            return event

    def done(self, task_id: str, timeout: float = 20.0) -> TaskDone:
        event = self.wait(lambda e: isinstance(e, TaskDone) and e.outcome.task_id == task_id, timeout)
        assert isinstance(event, TaskDone)
        return event


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
