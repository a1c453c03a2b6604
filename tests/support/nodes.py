"""Helpers for tests that drive node agents: task spec factories and an event collector."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from runyard.nodes.protocol import NodeEvent, TaskDone, TaskSpec

SpecFactory = Callable[..., TaskSpec]


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
