"""Preparing a job: every problem is reported at once, each naming what is wrong and where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runyard.errors import Problem, WorkflowError
from runyard.model import (
    JavaExecutable,
    OnTaskError,
    Priority,
    Script,
    ScriptExecutable,
    TaskStatus,
    Variable,
)
from runyard.scheduler.submission import check_workflow, prepare_job

from .helpers import if_, task, workflow


def problems_of(wf: object, variables: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(WorkflowError) as caught:
        prepare_job(wf, variables, owner="alice", now=0.0)  # type: ignore[arg-type]
    return caught.value.problems


def test_prepare_job_creates_one_instance_per_task_with_effective_dependencies() -> None:
    wf = workflow(
        task("Cond", action=if_("Yes", "No", "Cont")),
        task("Yes"),
        task("No"),
        task("Cont"),
        variables=[Variable("N", "2"), Variable("M", "${N}0")],
        generic_information={"G": "$M"},
        priority="HIGH",
        max_number_of_execution="${N}",
        task_retry_delay="1:30",
        on_task_error="suspendTask",
        project_name="p",
    )
    job = prepare_job(wf, {"N": "3"}, {"EXTRA": "x"}, owner="alice", now=12.0)
    assert list(job.tasks) == ["Cond", "Yes", "No", "Cont"]
    assert [t.number for t in job.tasks.values()] == [0, 1, 2, 3]
    assert job.tasks["Cont"].depends == ["Yes", "No"]
    assert all(t.status is TaskStatus.PENDING for t in job.tasks.values())
    assert job.variables == {"N": "3", "M": "30"}
    assert job.generic_information == {"G": "30", "EXTRA": "x"}
    assert (job.priority, job.max_number_of_execution, job.task_retry_delay) == (Priority.HIGH, 3, 90.0)
    assert job.on_task_error is OnTaskError.SUSPEND_TASK
    assert (job.owner, job.submitted_at, job.project_name, job.next_number) == ("alice", 12.0, "p", 4)
    assert wf.max_number_of_execution == "${N}"  # the workflow itself is left as written


def test_defaults_when_nothing_is_said() -> None:
    job = prepare_job(workflow(task("A")), owner="u", now=0.0)
    assert job.priority is Priority.NORMAL
    assert job.on_task_error is OnTaskError.CONTINUE_JOB_EXECUTION
    assert (job.max_number_of_execution, job.task_retry_delay) == (1, 0.0)


def test_task_attributes_are_resolved_from_job_variables() -> None:
    wf = workflow(
        task("A", max_number_of_execution="${TRIES}", walltime="${W}", on_task_error="${P}"),
        variables=[Variable("TRIES", "4"), Variable("W", "10"), Variable("P", "pauseJob")],
    )
    job = prepare_job(wf, owner="u", now=0.0)
    resolved = job.workflow.task("A")
    assert (resolved.max_number_of_execution, resolved.walltime, resolved.on_task_error) == (
        4,
        "10",
        "pauseJob",
    )


def test_unknown_variable_override_is_named_with_the_declared_ones() -> None:
    [problem] = problems_of(workflow(task("A"), variables=[Variable("X", "1")]), {"Y": "2"})
    assert "'Y'" in problem.message and "X" in problem.message
    assert problem.field == "variables"


def test_override_that_does_not_fit_the_model() -> None:
    wf = workflow(task("A"), variables=[Variable("N", "1", model="PA:Integer[1,5]")])
    [problem] = problems_of(wf, {"N": "9"})
    assert problem.field == "variable 'N'"
    assert "'9'" in problem.message


def test_task_variable_that_does_not_fit_its_model_names_the_task() -> None:
    wf = workflow(task("A", variables=[Variable("B", "maybe", model="PA:Boolean")]))
    [problem] = problems_of(wf)
    assert (problem.task, problem.field) == ("A", "variable 'B'")


def test_priority_from_an_undefined_variable() -> None:
    [problem] = problems_of(workflow(task("A"), priority="${PRIO}"))
    assert problem.field == "priority"
    assert "${PRIO}" in problem.message and "undefined variable" in problem.message


def test_priority_variable_with_a_bad_value_lists_the_priorities() -> None:
    [problem] = problems_of(workflow(task("A"), priority="${PRIO}", variables=[Variable("PRIO", "urgent")]))
    assert problem.field == "priority"
    assert "'urgent'" in problem.message and "highest" in problem.message


def test_priority_variable_that_resolves() -> None:
    job = prepare_job(
        workflow(task("A"), priority="${PRIO}", variables=[Variable("PRIO", "low")]), owner="u", now=0
    )
    assert job.priority is Priority.LOW


@pytest.mark.parametrize(
    ("attributes", "field", "hint"),
    [
        ({"max_number_of_execution": "${N}"}, "maxNumberOfExecution", "at least 1"),
        ({"task_retry_delay": "${N}"}, "taskRetryDelay", "hh:mm:ss"),
        ({"on_task_error": "${N}"}, "onTaskError", "cancelJob"),
    ],
)
def test_task_attribute_resolving_to_a_bad_value(attributes: dict[str, Any], field: str, hint: str) -> None:
    [problem] = problems_of(workflow(task("A", **attributes), variables=[Variable("N", "often")]))
    assert (problem.task, problem.field) == ("A", field)
    assert "'often'" in problem.message and hint in problem.message


def test_walltime_generic_information_must_be_a_duration() -> None:
    wf = workflow(task("A", generic_information={"WALLTIME": "${W}"}), variables=[Variable("W", "1h")])
    [problem] = problems_of(wf)
    assert (problem.task, problem.field) == ("A", "genericInformation WALLTIME")


def test_unknown_language() -> None:
    wf = workflow(task("A"))
    wf.tasks[0].executable = ScriptExecutable(Script(language="cobol", code="x"))
    [problem] = problems_of(wf)
    assert (problem.task, problem.field) == ("A", "scriptExecutable")
    assert "cobol" in problem.message


def test_missing_script_file_is_looked_for_next_to_the_workflow(tmp_path: Path) -> None:
    (tmp_path / "present.py").write_text("result = 1")
    wf = workflow(task("A"), task("B"))
    wf.source = str(tmp_path / "wf.xml")
    wf.tasks[0].executable = ScriptExecutable(Script(file="present.py"))
    wf.tasks[1].pre = Script(file="absent.py")
    [problem] = problems_of(wf)
    assert (problem.task, problem.field) == ("B", "pre")
    assert str(tmp_path / "absent.py") in problem.message


def test_every_problem_is_reported_at_once() -> None:
    wf = workflow(task("A", max_number_of_execution="${X}"), priority="${X}")
    wf.tasks[0].executable = ScriptExecutable(Script(language="cobol", code="x"))
    problems = problems_of(wf, {"U": "1"})
    assert {p.field for p in problems} == {
        "variables",
        "priority",
        "maxNumberOfExecution",
        "scriptExecutable",
    }


def test_java_executable_is_valid_but_not_runnable() -> None:
    wf = workflow(task("A"))
    wf.tasks[0].executable = JavaExecutable("org.Example")
    assert check_workflow(wf, runnable=False) == []
    [problem] = check_workflow(wf)
    assert "javaExecutable" in problem.message
