"""Which instances of a job are ready to start, kept up to date from each transition's changes.

Recomputing readiness over every instance after every event would make a 10,000-task job
quadratic; instead only the changed instances and the children of newly finished ones are
looked at again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from runyard.model import JobStatus, TaskStatus
from runyard.scheduler.state import JobState, TaskState

WAITING = frozenset({TaskStatus.PENDING, TaskStatus.WAITING_ON_ERROR, TaskStatus.WAITING_ON_FAILURE})
_DISPATCHING = frozenset({JobStatus.PENDING, JobStatus.RUNNING, JobStatus.STALLED, JobStatus.IN_ERROR})


class ReadyIndex:
    def __init__(self, job: JobState) -> None:
        self.job = job
        self._children: dict[str, set[str]] = {}
        self._depends: dict[str, tuple[str, ...]] = {}
        self._terminal: set[str] = set()
        self._ready: dict[str, None] = {}
        self._delayed: dict[str, float] = {}  # ready instances with a not_before time
        self.refresh(job.tasks)

    def refresh(self, names: Iterable[str]) -> None:
        """Take into account that the instances ``names`` were created or changed."""
        recheck: set[str] = set()
        for name in names:
            task = self.job.tasks[name]
            self._link(name, tuple(task.depends))
            recheck.add(name)
            if task.status.is_terminal and name not in self._terminal:
                self._terminal.add(name)
                recheck |= self._children.get(name, set())
        for name in sorted(recheck, key=lambda n: self.job.tasks[n].number):  # FIFO, then creation order
            task = self.job.tasks[name]
            # a PENDING instance with a node was given to it already (held: see transitions.held)
            if (
                task.status in WAITING
                and task.node is None
                and all(d in self._terminal for d in task.depends)
            ):
                self._ready[name] = None
                if task.not_before is not None:
                    self._delayed[name] = task.not_before
                else:
                    self._delayed.pop(name, None)
            else:
                self._ready.pop(name, None)
                self._delayed.pop(name, None)

    def ready(self, now: float) -> Iterator[TaskState]:
        """Ready instances, oldest first, if the job may start tasks at all.

        Nothing may change the index while the iterator is in use.
        """
        if self.job.status not in _DISPATCHING:
            return
        for name in self._ready:
            not_before = self._delayed.get(name)
            if not_before is None or not_before <= now:
                yield self.job.tasks[name]

    def next_wake(self) -> float | None:
        """Earliest time a ready instance waits for (retry delay, cron loop)."""
        return min(self._delayed.values()) if self._delayed else None

    def _link(self, name: str, depends: tuple[str, ...]) -> None:
        old = self._depends.get(name, ())
        if old == depends:
            return
        for parent in old:
            self._children.get(parent, set()).discard(name)
        for parent in depends:
            self._children.setdefault(parent, set()).add(name)
        self._depends[name] = depends
