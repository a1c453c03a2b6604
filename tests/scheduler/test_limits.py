"""The bounds of ``Settings`` on one job: walltime at submission, task instances at expansion."""

from __future__ import annotations

from typing import Any

import pytest

from runyard.errors import WorkflowError
from runyard.model import Block, JobStatus, TaskStatus, Variable
from runyard.scheduler.submission import prepare_job
from runyard.settings import JobLimits

from .helpers import Run, loop, replicate, task, workflow

LIMITS = JobLimits(max_walltime=3600.0, max_replicas=10, max_tasks_per_job=20)


def split_process_merge() -> Run:
    return Run(
        workflow(task("Split", action=replicate()), task("Process", "Split"), task("Merge", "Process")),
        limits=LIMITS,
    )


@pytest.mark.parametrize("runs", [11, "1e300", 10**400])
def test_replicate_over_max_replicas_fails_the_job_and_copies_nothing(runs: object) -> None:
    run = split_process_merge()
    run.run("Split", {"runs": runs})
    assert run.names() == ["Split", "Process", "Merge"]
    assert run.status("Split") is TaskStatus.FAULTY
    assert "max_replicas" in (run["Split"].error or "")
    assert run.job_status() is JobStatus.FAILED


def test_replicate_at_the_limits_runs() -> None:
    run = split_process_merge()
    run.run("Split", {"runs": 10})
    assert len(run.names()) == 12
    assert run.run_all()[-1] == "Merge"
    assert run.job_status() is JobStatus.FINISHED


def test_replicate_that_would_pass_max_tasks_per_job_fails_the_job() -> None:
    chain = [task("A", "Split", block=Block.START), task("B", "A"), task("C", "B", block=Block.END)]
    chain.append(task("Merge", "C"))
    run = Run(workflow(task("Split", action=replicate()), *chain), limits=LIMITS)
    run.run("Split", {"runs": 7})  # 5 + 6 * 3 = 23 instances
    assert len(run.names()) == 5
    assert "max_tasks_per_job" in (run["Split"].error or "")
    assert run.job_status() is JobStatus.FAILED


def test_an_endless_loop_fails_the_job_at_max_tasks_per_job() -> None:
    run = Run(
        workflow(
            task("Start", block=Block.START),
            task("End", "Start", block=Block.END, action=loop("Start")),
        ),
        limits=LIMITS,
    )
    run.run_all(lambda t: {"loop": True} if t.template == "End" else None)
    assert len(run.names()) == LIMITS.max_tasks_per_job
    assert run.job_status() is JobStatus.FAILED
    last = run.job.tasks[run.names()[-1]]
    assert last.status is TaskStatus.FAULTY and "max_tasks_per_job" in (last.error or "")


def test_a_workflow_with_more_tasks_than_max_tasks_per_job_is_refused() -> None:
    wf = workflow(*(task(f"T{i}") for i in range(21)))
    with pytest.raises(WorkflowError, match="max_tasks_per_job"):
        prepare_job(wf, owner="alice", now=0, limits=LIMITS)


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"walltime": "99999999:00:00"}, "walltime"),
        ({"walltime": "1:00:01"}, "walltime"),
        ({"walltime": "${W}"}, "walltime"),
        ({"generic_information": {"WALLTIME": "${W}"}}, "genericInformation WALLTIME"),
        ({"walltime": "9" * 400}, "walltime"),
    ],
)
def test_a_walltime_over_max_walltime_is_refused(attributes: dict[str, Any], field: str) -> None:
    wf = workflow(task("A", **attributes), variables=[Variable("W", "99999999:00:00")])
    with pytest.raises(WorkflowError) as refused:
        prepare_job(wf, owner="alice", now=0, limits=LIMITS)
    problems = refused.value.problems
    assert {(p.task, p.field) for p in problems} == {("A", field)}
    assert any("max_walltime" in p.message or "too long" in p.message for p in problems)


def test_a_walltime_at_max_walltime_is_accepted() -> None:
    prepare_job(workflow(task("A", walltime="1:00:00")), owner="alice", now=0, limits=LIMITS)
