"""Which ready task goes to which free node: priority, job age, node tokens, selection refusals."""

from __future__ import annotations

from collections.abc import Iterable

from runyard.model import Priority
from runyard.scheduler.dispatch import Candidate, Refusals, assign, job_order

from .helpers import Run, task, workflow

NO_TOKENS: dict[str, frozenset[str]] = {}


def jobs(*priorities: Priority) -> list[Run]:
    runs = []
    for job_id, priority in enumerate(priorities, start=1):
        run = Run(workflow(task("A"), task("B")))
        run.job.id = job_id
        run.job.priority = priority
        runs.append(run)
    return runs


def candidates(runs: list[Run], tokens: dict[str, str] | None = None) -> list[Candidate]:
    """Ready instances of the jobs in dispatch order, as the scheduler feeds ``assign``."""
    tokens = tokens or {}
    by_job = {run.job.id: run for run in runs}
    return [
        Candidate(job, t, tokens.get(f"{job.id}/{t.name}"))
        for job in job_order(run.job for run in runs)
        for t in by_job[job.id].index.ready(by_job[job.id].now)
    ]


def pairs(assigned: Iterable[tuple[Candidate, str]]) -> list[tuple[str, str]]:
    return [(f"{c.job.id}/{c.task.name}", node) for c, node in assigned]


def test_highest_priority_first_then_oldest_job_then_creation_order() -> None:
    runs = jobs(Priority.NORMAL, Priority.HIGH, Priority.NORMAL, Priority.IDLE)
    found = assign(candidates(runs), ["n1", "n2", "n3", "n4", "n5"], NO_TOKENS, Refusals(), 0.0)
    assert pairs(found) == [("2/A", "n1"), ("2/B", "n2"), ("1/A", "n3"), ("1/B", "n4"), ("3/A", "n5")]


def test_no_free_node_assigns_nothing() -> None:
    assert assign(candidates(jobs(Priority.NORMAL)), [], NO_TOKENS, Refusals(), 0.0) == []


def test_a_token_holding_node_takes_only_tasks_with_its_token() -> None:
    runs = jobs(Priority.NORMAL)
    tokens = {"secure": frozenset({"T1", "T2"})}
    found = assign(candidates(runs), ["secure"], tokens, Refusals(), 0.0)
    assert found == []
    found = assign(candidates(runs, {"1/B": "T2"}), ["secure", "plain"], tokens, Refusals(), 0.0)
    assert pairs(found) == [("1/A", "plain"), ("1/B", "secure")]


def test_a_task_with_a_token_runs_only_on_a_node_holding_it() -> None:
    runs = jobs(Priority.NORMAL)
    tokens = {"other": frozenset({"X"})}
    found = assign(candidates(runs, {"1/A": "T"}), ["plain", "other"], tokens, Refusals(), 0.0)
    assert pairs(found) == [("1/B", "plain")]


def test_a_refused_node_is_not_asked_again_until_the_refusal_expires() -> None:
    runs = jobs(Priority.NORMAL)
    refusals = Refusals()
    refusals.add(1, "A", "n1", until=10.0)
    assert refusals.next_expiry(0.0) == 10.0
    assert pairs(assign(candidates(runs), ["n1"], NO_TOKENS, refusals, 5.0)) == [("1/B", "n1")]
    assert pairs(assign(candidates(runs), ["n1", "n2"], NO_TOKENS, refusals, 5.0)) == [
        ("1/A", "n2"),
        ("1/B", "n1"),
    ]
    assert pairs(assign(candidates(runs), ["n1"], NO_TOKENS, refusals, 10.0)) == [("1/A", "n1")]
    assert refusals.next_expiry(10.0) is None


def test_forgetting_refusals_of_a_task() -> None:
    refusals = Refusals()
    refusals.add(1, "A", "n1", until=10.0)
    refusals.add(1, "B", "n1", until=20.0)
    refusals.forget(1, "A")
    assert not refusals.refused(1, "A", "n1", 0.0)
    assert refusals.refused(1, "B", "n1", 0.0)
    assert not refusals.refused(2, "B", "n1", 0.0)
