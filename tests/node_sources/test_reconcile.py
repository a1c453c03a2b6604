"""The sources reconcile at once: a source that takes long delays the recovery once, not once a source."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from runyard.errors import NodeError
from runyard.nodes.protocol import NodeEvent, NodeInfo, NodeUp, RecordedExecution, TaskSpec
from runyard.nodes.sources import NodeSources, Origin, SourceEntry


class SlowSource:
    """A test double of a node source: one node, whose reconciliation takes ``delay`` seconds and keeps
    the executions of its node (or raises ``error``)."""

    def __init__(self, name: str, delay: float, error: Exception | None = None) -> None:
        self.name, self.delay, self.error = name, delay, error
        self.threads: list[str] = []

    def start(self, on_event: Callable[[NodeEvent], None]) -> None:
        on_event(NodeUp(NodeInfo(f"{self.name}-1", self.name, "127.0.0.1", f"test://{self.name}-1")))

    def nodes(self) -> list[NodeInfo]:
        return []

    def run(self, node: str, spec: TaskSpec) -> None:
        raise NotImplementedError

    def kill(self, node: str, task_id: str, execution: int) -> None:
        raise NotImplementedError

    def reconcile(self, recorded: list[RecordedExecution], timeout: float) -> list[RecordedExecution]:
        self.threads.append(threading.current_thread().name)
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return [execution for execution in recorded if execution.node == f"{self.name}-1"]

    def stop(self) -> None:
        pass


def sources(*held: SlowSource) -> NodeSources:
    pool = NodeSources()
    for source in held:
        pool.include(SourceEntry(source.name, "test", {}, Origin.CONFIG, source))
    pool.start(lambda event: None)
    return pool


def test_slow_sources_reconcile_at_the_same_time_each_keeping_its_own() -> None:
    a, b, c = SlowSource("a", 1.0), SlowSource("b", 1.0), SlowSource("c", 1.0)
    pool = sources(a, b, c)
    recorded = [
        RecordedExecution("a-1", "1:0", 1),
        RecordedExecution("b-1", "2:0", 1),
        RecordedExecution("gone-1", "3:0", 1),  # a node no source owns
    ]
    began = time.monotonic()
    kept = pool.reconcile(recorded, timeout=5)
    took = time.monotonic() - began
    assert sorted(kept, key=lambda r: r.node) == recorded[:2]
    assert took < 1.8, f"{took:.2f} s: the sources were asked one after another"
    assert c.threads == []  # nothing ran on its node: not asked
    assert a.threads[0] != b.threads[0]


def test_a_source_that_fails_fails_the_reconciliation_saying_why() -> None:
    pool = sources(SlowSource("a", 0.0), SlowSource("b", 0.1, NodeError("worker w1 does not answer")))
    recorded = [RecordedExecution("a-1", "1:0", 1), RecordedExecution("b-1", "2:0", 1)]
    with pytest.raises(NodeError, match="worker w1 does not answer"):
        pool.reconcile(recorded, timeout=5)


def test_nothing_recorded_asks_no_source() -> None:
    a = SlowSource("a", 1.0)
    assert sources(a).reconcile([], timeout=5) == []
    assert a.threads == []
