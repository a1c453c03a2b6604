"""ReadyIndex against readiness recomputed from scratch, over random graphs and random events.

Every step of :class:`Run` asserts that the index agrees with the brute-force readiness, so these
tests only have to produce many different histories.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runyard.model import JobStatus, OnTaskError, TaskStatus, Workflow
from runyard.nodes.protocol import OutcomeKind
from runyard.scheduler import transitions as tr
from runyard.scheduler.index import WAITING, ReadyIndex

from .helpers import Run, brute_force_ready, nested_flow, random_decision, replicated_loop, task, workflow

POLICIES = [p.value for p in OnTaskError if p is not OnTaskError.NONE]


@st.composite
def dags(draw: st.DrawFn) -> Workflow:
    size = draw(st.integers(1, 8))
    tasks = []
    for i in range(size):
        parents = draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set()
        tasks.append(
            task(
                f"T{i}",
                *(f"T{p}" for p in sorted(parents)),
                max_number_of_execution=draw(st.integers(1, 2)),
                task_retry_delay=draw(st.sampled_from(["0", "5"])),
            )
        )
    return workflow(*tasks, on_task_error=draw(st.sampled_from(POLICIES)))


def drive(data: st.DataObject, run: Run, steps: int) -> None:
    """Random events, each valid in the state reached so far (as the scheduler loop checks)."""
    for _ in range(steps):
        by_status = _by_status(run)
        running = by_status.get(TaskStatus.RUNNING, [])
        ready = run.ready()
        waiting = [n for s in WAITING for n in by_status.get(s, [])]
        moves = ["wait"]
        moves += ["start"] * bool(ready)
        moves += ["finish", "fail", "lose", "kill", "refuse"] * bool(running)
        moves += ["restart"] * bool(by_status.get(TaskStatus.IN_ERROR))
        if run.job.status.is_alive:
            paused = run.job_status() is JobStatus.PAUSED
            moves += ["resume"] if paused else ["pause"]
            moves += ["pause_task"] * bool(waiting)
            moves += ["resume_task"] * bool(by_status.get(TaskStatus.PAUSED) and not paused)
        move = data.draw(st.sampled_from(moves))
        if move == "wait":
            run.now += data.draw(st.sampled_from([0.0, 5.0]))
            run.apply(lambda c: None)
        elif move == "start":
            run.start(data.draw(st.sampled_from(ready)))
        elif move == "restart":
            run.restart(data.draw(st.sampled_from(by_status[TaskStatus.IN_ERROR])))
        elif move == "pause":
            run.apply(lambda c: tr.pause_job(run.job, run.now, c))
        elif move == "resume":
            run.apply(lambda c: tr.resume_job(run.job, run.now, c))
        elif move == "pause_task":
            run.pause_task(data.draw(st.sampled_from(waiting)))
        elif move == "resume_task":
            run.resume_task(data.draw(st.sampled_from(by_status[TaskStatus.PAUSED])))
        else:
            name = data.draw(st.sampled_from(running))
            if move == "finish":
                run.finish(name, random_decision(data, run, run[name]))
            elif move == "fail":
                run.fail(name)
            elif move == "lose":
                run.lose(name)
            elif move == "refuse":
                run.outcome(name, OutcomeKind.NOT_SELECTED)
            else:
                run.kill(name)
        assert_consistent(run)


def _by_status(run: Run) -> dict[TaskStatus, list[str]]:
    found: dict[TaskStatus, list[str]] = {}
    for name, instance in run.job.tasks.items():
        found.setdefault(instance.status, []).append(name)
    return found


def assert_consistent(run: Run) -> None:
    """A fresh index over the same state agrees with the incremental one; names are unique."""
    assert sorted(t.name for t in ReadyIndex(run.job).ready(run.now)) == run.ready()
    assert all(instance.name == name for name, instance in run.job.tasks.items())
    if not run.job.status.is_alive:
        assert run.ready() == []
        assert all(t.status.is_terminal for t in run.job.tasks.values())


FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(dags(), st.data())
def test_index_follows_random_histories_of_random_graphs(wf: Workflow, data: st.DataObject) -> None:
    run = Run(wf, max_failures=1)
    assert run.ready() == sorted(brute_force_ready(run.job, run.now))
    drive(data, run, steps=30)


@pytest.mark.parametrize("make", [replicated_loop, nested_flow])
@FAST
@given(data=st.data())
def test_index_follows_random_expansions(make: Callable[[], Workflow], data: st.DataObject) -> None:
    run = Run(make(), max_failures=1)
    drive(data, run, steps=40)


@pytest.mark.parametrize("make", [replicated_loop, nested_flow])
@FAST
@given(data=st.data())
def test_a_control_flow_job_always_ends_when_every_task_succeeds(
    make: Callable[[], Workflow], data: st.DataObject
) -> None:
    run = Run(make())
    order = run.run_all(lambda t: random_decision(data, run, t))
    assert run.job_status() is JobStatus.FINISHED
    assert order[-1] == "Merge"
    merge = run["Merge"].depends
    end = run.graph.depends["Merge"][0]
    assert all(run[d].template == end for d in merge)
    assert len({run[d].replication for d in merge}) == len(merge)  # one last iteration per replica
