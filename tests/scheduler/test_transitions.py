"""Task outcomes, retries, error policies, node failures, kill / pause / resume, restart."""

from __future__ import annotations

from typing import Any

import pytest

from runyard.model import JobStatus, OnTaskError, TaskStatus
from runyard.nodes.protocol import OutcomeKind, TaskOutcome
from runyard.scheduler import transitions as tr

from .helpers import Run, if_, loop, replicate, task, workflow


def chain(**attributes: Any) -> Run:
    return Run(workflow(task("A"), task("B", "A"), task("C"), **attributes))


def test_a_task_is_retried_after_its_delay_then_policy_applies() -> None:
    run = chain(max_number_of_execution=3, task_retry_delay="5")
    run.start("A")
    run.fail("A")
    assert run.status("A") is TaskStatus.WAITING_ON_ERROR
    assert run["A"].not_before == run.now + 5
    assert run.index.next_wake() == run.now + 5
    assert "A" not in run.ready()
    run.now += 5
    assert "A" in run.ready()
    run.start("A")
    assert run["A"].executions == 2
    assert run["A"].not_before is None
    run.fail("A")
    run.now += 5
    run.start("A")
    run.fail("A")
    assert run.status("A") is TaskStatus.FAULTY
    assert run["A"].executions == 3
    assert run["A"].error == "boom"
    # continueJobExecution: the successor still runs
    assert run.ready() == ["B", "C"]
    run.run_all()
    assert run.job_status() is JobStatus.FINISHED


def test_task_attributes_override_the_job_ones() -> None:
    run = Run(
        workflow(task("A", max_number_of_execution=2, task_retry_delay="1:00"), max_number_of_execution=5)
    )
    run.start("A")
    run.fail("A")
    assert run["A"].not_before == run.now + 60
    run.now += 60
    run.start("A")
    run.fail("A")
    assert run.status("A") is TaskStatus.FAULTY


def test_a_retry_that_succeeds_finishes_the_task() -> None:
    run = chain(max_number_of_execution=2)
    run.start("A")
    run.fail("A")
    run.start("A")
    run.finish("A")
    assert run.status("A") is TaskStatus.FINISHED
    assert run.ready() == ["B", "C"]


@pytest.mark.parametrize("kind", [OutcomeKind.FAULTY, OutcomeKind.WALLTIME])
def test_suspend_task_puts_the_task_and_the_job_in_error_until_restarted(kind: OutcomeKind) -> None:
    run = chain(on_task_error="suspendTask")
    run.start("A")
    run.outcome("A", kind, error="bad")
    assert run.status("A") is TaskStatus.IN_ERROR
    assert run.job_status() is JobStatus.IN_ERROR
    assert run.ready() == ["C"]  # other tasks go on, successors wait
    run.run("C")
    assert run.job_status() is JobStatus.IN_ERROR
    run.apply(lambda c: tr.restart_in_error_task(run.job, run["A"], run.now, c))
    assert run.status("A") is TaskStatus.PENDING
    assert run.job_status() is JobStatus.STALLED  # started, nothing running
    run.start("A")
    assert run["A"].executions == 2  # numbering goes on: execution records and logs stay unique
    run.finish("A")
    run.run_all()
    assert run.job_status() is JobStatus.FINISHED


def test_a_restarted_task_gets_a_fresh_set_of_executions() -> None:
    run = Run(workflow(task("A"), max_number_of_execution=2, on_task_error="suspendTask"))
    for _ in range(2):
        run.start("A")
        run.fail("A")
    assert run.status("A") is TaskStatus.IN_ERROR
    run.apply(lambda c: tr.restart_in_error_task(run.job, run["A"], run.now, c))
    run.start("A")
    run.fail("A")
    assert run.status("A") is TaskStatus.WAITING_ON_ERROR
    run.start("A")
    run.fail("A")
    assert run.status("A") is TaskStatus.IN_ERROR
    assert run["A"].executions == 4


def test_pause_job_policy_leaves_the_task_in_error_and_pauses_the_job() -> None:
    run = chain(on_task_error="pauseJob")
    run.start("C")
    run.start("A")
    run.fail("A")
    assert run.status("A") is TaskStatus.IN_ERROR
    assert run.job_status() is JobStatus.PAUSED
    assert run.status("B") is TaskStatus.PAUSED
    assert run.status("C") is TaskStatus.RUNNING  # running tasks go on
    assert run.ready() == []
    run.finish("C")
    assert run.job_status() is JobStatus.PAUSED
    run.apply(lambda c: tr.restart_in_error_task(run.job, run["A"], run.now, c))
    assert run.ready() == []
    run.apply(lambda c: tr.resume_job(run.job, run.now, c))
    assert run.job_status() is JobStatus.STALLED  # started, nothing running
    assert run.run_all() == ["A", "B"]
    assert run.job_status() is JobStatus.FINISHED


def test_cancel_job_policy_aborts_running_tasks_and_cancels_the_job() -> None:
    run = chain(on_task_error="cancelJob")
    run.start("C", node="node-2")
    run.start("A")
    run.fail("A")
    assert run.status("A") is TaskStatus.FAULTY
    assert run.status("C") is TaskStatus.ABORTED
    assert run.status("B") is TaskStatus.NOT_STARTED
    assert run.job_status() is JobStatus.CANCELED
    assert [(k.task, k.node, k.execution) for k in run.kills] == [("C", "node-2", 1)]
    assert run.ready() == []


def test_task_policy_overrides_the_job_policy_and_none_inherits_it() -> None:
    run = Run(
        workflow(
            task("A", on_task_error="cancelJob"),
            task("B", on_task_error="none"),
            task("C"),
            on_task_error="suspendTask",
        )
    )
    assert tr.error_policy(run.job, run.graph, run["A"]) is OnTaskError.CANCEL_JOB
    assert tr.error_policy(run.job, run.graph, run["B"]) is OnTaskError.SUSPEND_TASK
    run.start("B")
    run.fail("B")
    assert run.status("B") is TaskStatus.IN_ERROR


def test_policies_are_case_insensitive_as_in_proactive() -> None:
    run = Run(workflow(task("A", on_task_error="CANCELJOB"), on_task_error="SuspendTask"))
    assert run.job.on_task_error is OnTaskError.SUSPEND_TASK
    assert tr.error_policy(run.job, run.graph, run["A"]) is OnTaskError.CANCEL_JOB


def test_node_lost_restarts_the_task_without_using_an_execution_then_fails_the_job() -> None:
    run = Run(workflow(task("A"), task("B")), max_failures=2)
    run.start("B", node="node-2")
    for attempt in (1, 2):
        run.start("A")
        run.lose("A")
        assert run.status("A") is TaskStatus.WAITING_ON_FAILURE
        assert run["A"].failures == attempt
        assert run.ready() == ["A"]
    run.start("A")
    assert run["A"].executions == 3
    run.lose("A")
    assert run.status("A") is TaskStatus.FAILED
    assert run.status("B") is TaskStatus.ABORTED
    assert run.job_status() is JobStatus.FAILED
    assert [k.task for k in run.kills] == ["B"]


def test_node_failures_do_not_consume_error_executions() -> None:
    run = Run(workflow(task("A"), max_number_of_execution=2))
    run.start("A")
    run.lose("A")
    run.start("A")
    run.fail("A")
    assert run.status("A") is TaskStatus.WAITING_ON_ERROR
    run.start("A")
    run.lose("A")
    run.start("A")
    run.fail("A")
    assert run.status("A") is TaskStatus.FAULTY
    assert (run["A"].executions, run["A"].failures) == (4, 2)


def test_an_outcome_of_an_older_execution_or_a_task_not_running_is_ignored() -> None:
    run = chain()
    run.start("A")
    stale = TaskOutcome(task_id=run["A"].task_id(7), execution=0, kind=OutcomeKind.FINISHED)
    changes = run.apply(lambda c: tr.task_outcome(run.job, run.graph, run["A"], stale, run.now, c))
    assert run.status("A") is TaskStatus.RUNNING
    assert changes.tasks == set()
    run.finish("A")
    again = run.apply(lambda c: tr.node_lost(run.job, run.graph, run["A"], run.now, 2, c))
    assert run.status("A") is TaskStatus.FINISHED
    assert again.tasks == set()


def test_not_selected_puts_the_task_back_without_counting_an_execution() -> None:
    run = chain()
    run.start("A")
    run.outcome("A", OutcomeKind.NOT_SELECTED)
    assert run.status("A") is TaskStatus.PENDING
    assert run["A"].executions == 0
    assert run["A"].started_at is None
    assert "A" in run.ready()


def test_finished_outcome_records_result_variables_and_result_map() -> None:
    run = chain()
    run.start("A")
    run.finish("A", result=b"x", result_json=3, variables={"K": "v"}, result_map={"m": 1}, exit_value=0)
    a = run["A"]
    assert (a.result, a.result_json, a.variables, a.exit_value) == (b"x", 3, {"K": "v"}, 0)
    assert run.job.result_map == {"m": 1}
    assert a.finished_at == run.now


def test_kill_job_aborts_running_and_does_not_start_the_rest() -> None:
    run = chain()
    run.start("A", node="n")
    changes = run.apply(lambda c: tr.kill_job(run.job, run.now, c))
    assert run.job_status() is JobStatus.KILLED
    assert run.statuses() == {
        "A": TaskStatus.ABORTED,
        "B": TaskStatus.NOT_STARTED,
        "C": TaskStatus.NOT_STARTED,
    }
    assert [(k.task, k.node) for k in changes.kills] == [("A", "n")]
    assert changes.job
    # the KILLED report that follows changes nothing
    run.outcome("A", OutcomeKind.KILLED)
    assert run.status("A") is TaskStatus.ABORTED


def test_kill_task_aborts_it_and_its_successors_go_on() -> None:
    run = chain()
    run.start("A", node="n")
    changes = run.apply(lambda c: tr.kill_task(run.job, run.graph, run["A"], run.now, c))
    assert run.status("A") is TaskStatus.ABORTED
    assert [k.task for k in changes.kills] == ["A"]
    assert run.ready() == ["B", "C"]


def test_kill_a_waiting_task_sends_no_kill() -> None:
    run = chain()
    changes = run.apply(lambda c: tr.kill_task(run.job, run.graph, run["C"], run.now, c))
    assert run.status("C") is TaskStatus.ABORTED
    assert changes.kills == []


def test_pause_and_resume_job_keep_waiting_statuses_and_retry_times() -> None:
    run = chain(max_number_of_execution=2, task_retry_delay="10")
    run.start("A")
    run.fail("A")
    run.start("C")
    run.apply(lambda c: tr.pause_job(run.job, run.now, c))
    assert run.job_status() is JobStatus.PAUSED
    assert run.statuses() == {"A": TaskStatus.PAUSED, "B": TaskStatus.PAUSED, "C": TaskStatus.RUNNING}
    run.now += 10
    assert run.ready() == []
    run.finish("C")
    assert run.job_status() is JobStatus.PAUSED
    run.apply(lambda c: tr.resume_job(run.job, run.now, c))
    assert run.status("A") is TaskStatus.WAITING_ON_ERROR
    assert run["A"].not_before is not None
    assert run.status("B") is TaskStatus.PENDING
    assert run.job_status() is JobStatus.STALLED  # started, nothing running
    assert run.ready() == ["A"]


def test_resume_a_job_paused_before_it_started_makes_it_pending_again() -> None:
    run = chain()
    run.apply(lambda c: tr.pause_job(run.job, run.now, c))
    run.apply(lambda c: tr.resume_job(run.job, run.now, c))
    assert run.job_status() is JobStatus.PENDING
    assert run.ready() == ["A", "C"]


def test_pause_and_resume_a_single_task() -> None:
    run = chain()
    run.apply(lambda c: tr.pause_task(run.job, run["C"], run.now, c))
    assert run.ready() == ["A"]
    run.run("A")
    run.run("B")
    assert run.job_status() is JobStatus.STALLED  # started, nothing running
    run.apply(lambda c: tr.resume_task(run.job, run["C"], run.now, c))
    assert run.run_all() == ["C"]
    assert run.job_status() is JobStatus.FINISHED


def test_a_branch_paused_with_its_job_is_still_skipped() -> None:
    run = Run(workflow(task("Cond", action=if_("Yes", "No", "Cont")), task("Yes"), task("No"), task("Cont")))
    run.start("Cond")
    run.apply(lambda c: tr.pause_job(run.job, run.now, c))
    run.finish("Cond", {"branch": "if"})
    assert run.status("No") is TaskStatus.SKIPPED
    run.apply(lambda c: tr.resume_job(run.job, run.now, c))
    assert run.run_all() == ["Yes", "Cont"]
    assert run.job_status() is JobStatus.FINISHED


def test_malformed_flow_values_from_a_node_do_not_break_the_job() -> None:
    run = Run(workflow(task("S", action=replicate()), task("P", "S"), task("L", "P", action=loop("L"))))
    run.run("S", {"runs": "2.9"})
    assert run["L"].depends == ["P", "P*1"]
    run.run("P")
    run.run("P*1")
    run.run("L", {"loop": "FALSE"})
    assert run.job_status() is JobStatus.FINISHED
