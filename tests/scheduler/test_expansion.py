"""Control flow at run time: replicate, loop (plain and cron), if/else, and their nestings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runyard.model import Block, JobStatus, TaskStatus
from runyard.scheduler.expansion import next_cron_time

from .helpers import Run, if_, loop, replicate, task, workflow

SKIPPED, FINISHED = TaskStatus.SKIPPED, TaskStatus.FINISHED


def test_linear_chain_runs_in_order_and_finishes_the_job() -> None:
    run = Run(workflow(task("A"), task("B", "A"), task("C", "B")))
    assert run.ready() == ["A"]
    assert run.job_status() is JobStatus.PENDING
    run.start("A")
    assert run.job_status() is JobStatus.RUNNING
    assert run.ready() == []
    run.finish("A")
    assert run.ready() == ["B"]
    assert run.run_all() == ["B", "C"]
    assert run.job_status() is JobStatus.FINISHED
    assert run.job.finished_at == run.now


def split_process_merge() -> Run:
    return Run(
        workflow(task("Split", action=replicate()), task("Process", "Split"), task("Merge", "Process"))
    )


@pytest.mark.parametrize("runs", [3, "3"])
def test_replicate_copies_the_child_and_merge_gets_every_replica_in_order(runs: int | str) -> None:
    run = split_process_merge()
    run.run("Split", {"runs": runs})
    assert run.names() == ["Split", "Process", "Merge", "Process*1", "Process*2"]
    assert run["Merge"].depends == ["Process", "Process*1", "Process*2"]
    assert [run[n].replication for n in ("Process", "Process*1", "Process*2")] == [0, 1, 2]
    assert all(run[n].depends == ["Split"] for n in ("Process", "Process*1", "Process*2"))
    assert run.ready() == ["Process", "Process*1", "Process*2"]
    run.run("Process*2")
    run.run("Process")
    assert run.ready() == ["Process*1"]
    assert run.run_all() == ["Process*1", "Merge"]
    assert run.job_status() is JobStatus.FINISHED


def test_replicate_once_adds_nothing() -> None:
    run = split_process_merge()
    run.run("Split", {"runs": 1})
    assert run.names() == ["Split", "Process", "Merge"]


def test_replicate_zero_times_skips_the_child_and_the_merge_still_runs() -> None:
    run = split_process_merge()
    run.run("Split", {"runs": 0})
    assert run.status("Process") is SKIPPED
    assert run.run_all() == ["Merge"]
    assert run.job_status() is JobStatus.FINISHED


def test_replicate_copies_the_whole_block_below_the_initiator() -> None:
    run = Run(
        workflow(
            task("Split", action=replicate()),
            task("B1", "Split", block=Block.START),
            task("B2", "B1"),
            task("B3", "B2", block=Block.END),
            task("Merge", "B3"),
        )
    )
    run.run("Split", {"runs": 2})
    assert run.names() == ["Split", "B1", "B2", "B3", "Merge", "B1*1", "B2*1", "B3*1"]
    assert run["B1*1"].depends == ["Split"]
    assert run["B2*1"].depends == ["B1*1"]
    assert run["B3*1"].depends == ["B2*1"]
    assert run["Merge"].depends == ["B3", "B3*1"]
    assert run.run_all() == ["B1", "B2", "B3", "B1*1", "B2*1", "B3*1", "Merge"]


def loop_workflow() -> Run:
    return Run(
        workflow(
            task("Before"),
            task("Start", "Before", block=Block.START),
            task("Body", "Start"),
            task("End", "Body", block=Block.END, action=loop("Start")),
            task("After", "End"),
        )
    )


def test_loop_repeats_the_block_until_told_to_stop() -> None:
    run = loop_workflow()
    run.run_all(lambda t: {"loop": t.iteration < 2} if t.template == "End" else None)
    assert run.names() == [
        "Before", "Start", "Body", "End", "After",
        "Start#1", "Body#1", "End#1",
        "Start#2", "Body#2", "End#2",
    ]  # fmt: skip
    assert run["Start#1"].depends == ["End"]
    assert run["Body#1"].depends == ["Start#1"]
    assert run["Start#2"].depends == ["End#1"]
    assert [run[n].iteration for n in ("Start", "Start#1", "Start#2")] == [0, 1, 2]
    assert run["After"].depends == ["End#2"]
    assert run.status("After") is FINISHED
    assert run.job_status() is JobStatus.FINISHED


def test_loop_successor_waits_for_the_last_iteration() -> None:
    run = loop_workflow()
    for name in ("Before", "Start", "Body"):
        run.run(name)
    run.run("End", {"loop": True})
    assert run.ready() == ["Start#1"]
    assert run["After"].depends == ["End#1"]


def test_loop_on_a_single_task() -> None:
    run = Run(workflow(task("T", action=loop("T")), task("After", "T")))
    run.run_all(lambda t: {"loop": t.iteration < 3} if t.template == "T" else None)
    assert run.names() == ["T", "After", "T#1", "T#2", "T#3"]
    assert run["T#3"].depends == ["T#2"]
    assert run["After"].depends == ["T#3"]


def test_cron_loop_waits_until_the_next_cron_time() -> None:
    run = loop_workflow()
    run.now = datetime(2024, 5, 1, 10, 7, 30, tzinfo=UTC).timestamp()
    for name in ("Before", "Start", "Body"):
        run.run(name)
    run.run("End", {"loop": "*/15 * * * *"})
    at = datetime(2024, 5, 1, 10, 15, tzinfo=UTC).timestamp()
    assert run["Start#1"].not_before == at
    assert run.ready() == []
    assert run.index.next_wake() == at
    run.now = at - 1
    assert run.ready() == []
    run.now = at
    assert run.ready() == ["Start#1"]
    run.start("Start#1")
    assert run["Start#1"].not_before is None


def test_next_cron_time_is_strictly_after_now() -> None:
    now = datetime(2024, 5, 1, 10, 15, tzinfo=UTC).timestamp()
    assert next_cron_time("*/15 * * * *", now) == now + 15 * 60
    assert next_cron_time("0 0 * * *", now) == datetime(2024, 5, 2, tzinfo=UTC).timestamp()


def branch_workflow() -> Run:
    return Run(
        workflow(
            task("Cond", action=if_("Yes", "No", "Cont")),
            task("Yes", block=Block.START),
            task("Yes2", "Yes", block=Block.END),
            task("No"),
            task("Cont"),
        )
    )


def test_if_targets_wait_for_the_initiator_and_continuation_for_both_branch_ends() -> None:
    run = branch_workflow()
    assert run["Yes"].depends == ["Cond"]
    assert run["No"].depends == ["Cond"]
    assert run["Cont"].depends == ["Yes2", "No"]
    assert run.ready() == ["Cond"]


def test_if_branch_taken_skips_the_else_branch() -> None:
    run = branch_workflow()
    run.run("Cond", {"branch": "if"})
    assert run.status("No") is SKIPPED
    assert run["Cont"].depends == ["Yes2"]
    assert run.ready() == ["Yes"]
    assert run.run_all() == ["Yes", "Yes2", "Cont"]
    assert run.job_status() is JobStatus.FINISHED


def test_else_branch_taken_skips_the_whole_if_block() -> None:
    run = branch_workflow()
    run.run("Cond", {"branch": "else"})
    assert run.status("Yes") is SKIPPED
    assert run.status("Yes2") is SKIPPED
    assert run["Cont"].depends == ["No"]
    assert run.run_all() == ["No", "Cont"]
    assert run.job_status() is JobStatus.FINISHED


def test_if_without_continuation() -> None:
    run = Run(workflow(task("Cond", action=if_("Yes", "No")), task("Yes"), task("No")))
    run.run("Cond", {"branch": "else"})
    assert run.status("Yes") is SKIPPED
    assert run.run_all() == ["No"]
    assert run.job_status() is JobStatus.FINISHED


def test_nested_if_inside_a_branch_is_skipped_with_its_branch() -> None:
    run = Run(
        workflow(
            task("Cond", action=if_("Outer", "No", "Cont")),
            task("Outer", block=Block.START, action=if_("InYes", "InNo", "InCont")),
            task("InYes"),
            task("InNo"),
            task("InCont", block=Block.END),
            task("No"),
            task("Cont"),
        )
    )
    assert run["Cont"].depends == ["InCont", "No"]
    run.run("Cond", {"branch": "else"})
    assert {n for n, s in run.statuses().items() if s is SKIPPED} == {"Outer", "InYes", "InNo", "InCont"}
    assert run.run_all() == ["No", "Cont"]


def test_faulty_if_initiator_takes_the_if_branch_as_proactive_does() -> None:
    run = branch_workflow()
    run.start("Cond")
    run.fail("Cond")
    assert run.status("Cond") is TaskStatus.FAULTY
    assert run.status("No") is SKIPPED
    assert run.run_all() == ["Yes", "Yes2", "Cont"]
    assert run.job_status() is JobStatus.FINISHED


def test_replicate_inside_a_loop_re_replicates_each_iteration_with_unique_names() -> None:
    run = Run(
        workflow(
            task("Split", block=Block.START, action=replicate()),
            task("Process", "Split"),
            task("Merge", "Process", block=Block.END, action=loop("Split")),
        )
    )

    def decide(t: object) -> dict[str, object] | None:
        assert isinstance(t, type(run["Split"]))
        if t.template == "Split":
            return {"runs": 2 + t.iteration}
        if t.template == "Merge":
            return {"loop": t.iteration < 1}
        return None

    run.run_all(decide)
    assert run.names() == [
        "Split", "Process", "Merge", "Process*1",
        "Split#1", "Process#1", "Merge#1", "Process#1*1", "Process#1*2",
    ]  # fmt: skip
    assert run["Split#1"].depends == ["Merge"]
    assert run["Process#1"].depends == ["Split#1"]
    assert run["Merge#1"].depends == ["Process#1", "Process#1*1", "Process#1*2"]
    assert run["Process#1*2"].iteration == 1
    assert run["Process#1*2"].replication == 2
    assert run.job_status() is JobStatus.FINISHED


def test_loop_inside_a_replicated_block_loops_each_replica_on_its_own() -> None:
    run = Run(
        workflow(
            task("Split", action=replicate()),
            task("Start", "Split", block=Block.START),
            task("End", "Start", block=Block.END, action=loop("Start")),
            task("Merge", "End"),
        )
    )
    run.run("Split", {"runs": 2})
    assert run["Merge"].depends == ["End", "End*1"]
    run.run("Start*1")
    run.run("End*1", {"loop": True})
    assert run.names()[-2:] == ["Start#1*1", "End#1*1"]
    assert run["Start#1*1"].depends == ["End*1"]
    assert run["Merge"].depends == ["End", "End#1*1"]
    run.run("Start")
    run.run("End", {"loop": True})
    assert run["Start#1"].depends == ["End"]
    assert run["Merge"].depends == ["End#1", "End#1*1"]
    run.run_all(lambda t: {"loop": False} if t.template == "End" else None)
    assert run.job_status() is JobStatus.FINISHED
    assert len(set(run.names())) == len(run.names())


def test_if_inside_a_loop_branches_again_each_iteration() -> None:
    run = Run(
        workflow(
            task("Cond", block=Block.START, action=if_("Yes", "No", "End")),
            task("Yes"),
            task("No"),
            task("End", block=Block.END, action=loop("Cond")),
        )
    )

    def decide(t: object) -> dict[str, object] | None:
        assert isinstance(t, type(run["Cond"]))
        if t.template == "Cond":
            return {"branch": "if" if t.iteration == 0 else "else"}
        if t.template == "End":
            return {"loop": t.iteration < 1}
        return None

    assert run.run_all(decide) == ["Cond", "Yes", "End", "Cond#1", "No#1", "End#1"]
    assert run.status("No") is SKIPPED
    assert run.status("Yes#1") is SKIPPED
    assert run["End#1"].depends == ["No#1"]
    assert run.job_status() is JobStatus.FINISHED


def test_nested_loops_give_unique_names_and_the_outer_end_follows_the_last_inner_iteration() -> None:
    run = Run(
        workflow(
            task("A", block=Block.START),
            task("B", "A", block=Block.START),
            task("C", "B", block=Block.END, action=loop("B")),
            task("D", "C", block=Block.END, action=loop("A")),
            task("After", "D"),
        )
    )
    inner: dict[int, int] = {}

    def decide(t: object) -> dict[str, object] | None:
        assert isinstance(t, type(run["A"]))
        if t.template == "C":
            # two inner iterations per outer one
            outer = run[t.depends[0]].depends[0]
            key = run[outer].iteration if run[outer].template == "A" else -1
            inner[key] = inner.get(key, 0) + 1
            return {"loop": inner[key] < 2}
        if t.template == "D":
            return {"loop": t.iteration == 0}
        return None

    run.run_all(decide)
    assert run.job_status() is JobStatus.FINISHED
    assert len(set(run.names())) == len(run.names())
    ends = [n for n in run.names() if run[n].template == "D"]
    assert len(ends) == 2
    last_d = run[ends[-1]]
    assert run[last_d.depends[0]].template == "C"
    assert run[last_d.depends[0]].status is FINISHED
    assert run["After"].depends == [last_d.name]
    assert run[ends[0]].depends != last_d.depends


def test_every_successor_of_a_replicated_task_is_pointed_at_the_copies() -> None:
    run = Run(
        workflow(
            task("Config"),
            task("Split", action=replicate()),
            task("Process", "Split"),
            task("Merge", "Process"),
            task("Audit", "Config", "Process"),
        )
    )
    run.run("Split", {"runs": 2})
    assert run["Merge"].depends == ["Process", "Process*1"]
    assert run["Audit"].depends == ["Config", "Process", "Process*1"]


def test_replicate_zero_times_skips_a_whole_block_with_a_branch_inside() -> None:
    run = Run(
        workflow(
            task("Split", action=replicate()),
            task("Start", "Split", block=Block.START, action=if_("Yes", "No", "End")),
            task("Yes"),
            task("No"),
            task("End", block=Block.END),
            task("Merge", "End"),
        )
    )
    run.run("Split", {"runs": 0})
    assert {n for n, s in run.statuses().items() if s is SKIPPED} == {"Start", "Yes", "No", "End"}
    assert run.run_all() == ["Merge"]
