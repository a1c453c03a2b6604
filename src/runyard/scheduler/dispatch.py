"""Which ready task goes to which free node: priorities, node tokens, selection refusals."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from runyard.scheduler.state import JobState, TaskState


@dataclass
class Candidate:
    job: JobState
    task: TaskState
    token: str | None  # NODE_ACCESS_TOKEN the task requires


@dataclass
class Refusals:
    """Nodes whose selection script refused a task, until when we don't ask them again."""

    until: dict[tuple[int, str], dict[str, float]] = field(default_factory=dict)

    def add(self, job_id: int, task: str, node: str, until: float) -> None:
        self.until.setdefault((job_id, task), {})[node] = until

    def refused(self, job_id: int, task: str, node: str, now: float) -> bool:
        return self.until.get((job_id, task), {}).get(node, 0.0) > now

    def forget(self, job_id: int, task: str) -> None:
        self.until.pop((job_id, task), None)

    def forget_job(self, job_id: int) -> None:
        for key in [k for k in self.until if k[0] == job_id]:
            del self.until[key]

    def next_expiry(self, now: float) -> float | None:
        """When the next refusal ends (refusals for good, ``math.inf``, never wake anyone)."""
        times = [t for nodes in self.until.values() for t in nodes.values() if now < t < math.inf]
        return min(times) if times else None


def job_order(jobs: Iterable[JobState]) -> list[JobState]:
    """Jobs in dispatch order: highest priority first, then the oldest."""
    return sorted(jobs, key=lambda job: (-job.priority.rank, job.id))


def assign(
    candidates: Iterable[Candidate],
    free_nodes: list[str],
    tokens: Mapping[str, frozenset[str]],
    refusals: Refusals,
    now: float,
) -> list[tuple[Candidate, str]]:
    """Pairs (task, node), taking candidates in the order given until no node is free.

    Callers give candidates highest priority first, then oldest job, then creation order; the
    iterable is consumed lazily, so a long queue costs nothing once the nodes are taken. A node
    holding tokens takes only tasks whose token it holds; a task with a token runs only on a
    node holding it.
    """
    free = list(free_nodes)
    pairs: list[tuple[Candidate, str]] = []
    for candidate in candidates:
        if not free:
            break
        for node in free:
            held = tokens.get(node, frozenset())
            allowed = candidate.token in held if candidate.token is not None else not held
            if allowed and not refusals.refused(candidate.job.id, candidate.task.name, node, now):
                free.remove(node)
                pairs.append((candidate, node))
                break
    return pairs
