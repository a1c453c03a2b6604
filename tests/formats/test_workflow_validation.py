"""Attribute and structure rules of ``runyard.model.validation`` on workflows built in code."""

from __future__ import annotations

import pytest

from runyard.errors import Problem
from runyard.model import NativeExecutable, Script, ScriptExecutable, Task, Variable, Workflow
from runyard.model.validation import is_reference, validate


def _task(name: str = "T", **fields: object) -> Task:
    task = Task(name=name, executable=NativeExecutable("date"))
    for key, value in fields.items():
        setattr(task, key, value)
    return task


def _messages(workflow: Workflow) -> list[str]:
    return [str(p) for p in validate(workflow)]


def test_a_plain_workflow_is_valid() -> None:
    assert validate(Workflow("Ok", tasks=[_task()])) == []


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("priority", "urgent", "priority 'urgent' is not one of idle, lowest, low, normal, high, highest"),
        ("on_task_error", "explode", "onTaskError 'explode' is not one of continueJobExecution"),
        (
            "restart_task_on_error",
            "nowhere",
            "restartTaskOnError 'nowhere' is not one of anywhere, elsewhere",
        ),
        ("task_retry_delay", "soon", "'soon' is not a duration"),
        ("max_number_of_execution", 0, "0 must be an integer of at least 1"),
        ("max_number_of_execution", "$N", "'$N' must be an integer of at least 1 or a ${VAR} reference"),
    ],
)
def test_bad_job_attributes_are_named(field: str, value: object, expected: str) -> None:
    workflow = Workflow("Job", tasks=[_task()])
    setattr(workflow, field, value)
    [problem] = validate(workflow)
    assert problem.field == field and expected in problem.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("priority", "${P}"),
        ("on_task_error", "CancelJob"),
        ("max_number_of_execution", "${N}"),
        ("task_retry_delay", "1:30"),
    ],
)
def test_good_values_and_references_are_accepted(field: str, value: object) -> None:
    workflow = Workflow("Job", tasks=[_task()])
    setattr(workflow, field, value)
    assert validate(workflow) == []


def test_task_attributes_are_checked() -> None:
    workflow = Workflow("Job", tasks=[_task(walltime="1:99:00x", number_of_nodes=0)])
    assert [p.field for p in validate(workflow)] == ["walltime", "number_of_nodes"]


def test_names_variables_and_executables() -> None:
    workflow = Workflow(
        "J",
        variables=[Variable("A"), Variable("A"), Variable("1bad")],
        tasks=[_task("T"), _task("T"), _task("no way"), Task("Empty")],
    )
    assert validate(workflow) == [
        Problem("the workflow needs a name of at least 2 characters", field="name"),
        Problem("variable 'A' is declared more than once", field="variable:A"),
        Problem("variable name '1bad' is not valid", field="variable:1bad"),
        Problem("task name 'T' is used by several tasks", task="T", field="name"),
        Problem(
            "task name 'no way' is not valid: it must start with a letter or '_' and hold only letters, "
            "digits, '_', '-' and '.'",
            task="no way",
            field="name",
        ),
        Problem(
            "the task has no executable (a script, a native command or a Java class)",
            task="Empty",
            field="executable",
        ),
    ]


def test_scripts_need_one_body_and_inline_code_a_language() -> None:
    workflow = Workflow(
        "Job",
        tasks=[
            _task("A", executable=ScriptExecutable(Script(code="x"))),
            _task("B", pre=Script(language="bash", code="x", url="http://x")),
        ],
    )
    assert _messages(workflow) == [
        "task 'A', executable: a script with inline code needs a language",
        "task 'B', pre: a script needs exactly one of code, file or url",
    ]


def test_variable_references() -> None:
    assert is_reference("${A.b_1}") and not is_reference("$A") and not is_reference("x${A}")
