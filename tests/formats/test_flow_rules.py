"""Control-flow rules: ProActive's conformance descriptors and small workflows built here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from workflow_corpus import FLOW_FAIL, FLOW_VALID, file_id, parsed

from runyard import formats
from runyard.errors import WorkflowFormatError


@pytest.mark.parametrize("path", FLOW_FAIL, ids=file_id)
def test_flow_fail_descriptors_are_rejected_with_a_located_reason(path: Path) -> None:
    with pytest.raises(WorkflowFormatError) as caught:
        formats.load(path)
    problem = caught.value.problems[0]
    assert problem.task is not None and problem.line is not None
    assert str(problem).startswith(f"{path}:{problem.line}: task '{problem.task}'")


@pytest.mark.parametrize("path", FLOW_VALID, ids=file_id)
def test_flow_valid_descriptors_are_accepted(path: Path) -> None:
    assert formats.validate(parsed(path)) == []


def _messages(yaml_text: str) -> list[str]:
    with pytest.raises(WorkflowFormatError) as caught:
        formats.loads(yaml_text, source="wf.yaml")
    return [str(p) for p in caught.value.problems]


def _tasks(body: str) -> str:
    return "name: flows\ntasks:\n" + body


def test_a_dependency_cycle_names_its_tasks_and_line() -> None:
    text = _tasks(
        "  A: {depends: [C], native: date}\n"
        "  B: {depends: [A], native: date}\n"
        "  C: {depends: [B], native: date}\n"
    )
    [message] = _messages(text)
    assert re.match(r"wf\.yaml:\d: task '\w', depends: cycle through dependencies", message)
    assert "A -> B -> C -> A" in message or "B -> C -> A -> B" in message or "C -> A -> B -> C" in message


def test_a_task_depending_on_itself_is_a_cycle() -> None:
    [message] = _messages(_tasks("  A: {depends: [A], native: date}\n"))
    assert "A -> A" in message


def test_unknown_dependency_is_reported_on_the_depends_line() -> None:
    [message] = _messages(_tasks("  A:\n    native: date\n    depends: [Nope]\n"))
    assert message == "wf.yaml:5: task 'A', depends: depends on 'Nope', which is not a task of this workflow"


def test_if_branches_cannot_have_explicit_dependencies() -> None:
    text = _tasks(
        "  T:\n    native: date\n"
        "    flow: {if: {target: A, else: B, continuation: C, script: {cpython: branch = 'if'}}}\n"
        "  A: {native: date, depends: [T]}\n"
        "  B: {native: date}\n"
        "  C: {native: date}\n"
    )
    [message] = _messages(text)
    assert "task 'A'" in message and "cannot have explicit dependencies" in message


def test_a_task_cannot_be_the_target_of_two_ifs() -> None:
    text = _tasks(
        "  T: {native: date, flow: {if: {target: A, else: B, script: {cpython: x}}}}\n"
        "  U: {native: date, flow: {if: {target: A, else: C, script: {cpython: x}}}}\n"
        "  A: {native: date}\n  B: {native: date}\n  C: {native: date}\n"
    )
    [message] = _messages(text)
    assert "target of several if actions" in message


def test_a_loop_must_close_a_block_started_at_its_target() -> None:
    text = _tasks(
        "  S: {native: date}\n"
        "  E: {native: date, depends: [S], flow: {loop: {target: S, script: {cpython: loop = False}}}}\n"
    )
    [message] = _messages(text)
    assert "task 'E'" in message and "a loop must end a block that starts at its target 'S'" in message


def test_a_loop_on_a_block_is_accepted() -> None:
    text = _tasks(
        "  S: {native: date, flow: {block: start}}\n"
        "  E:\n    native: date\n    depends: [S]\n"
        "    flow: {block: end, loop: {target: S, script: {cpython: loop = False}}}\n"
    )
    assert formats.loads(text).task("E").depends == ["S"]


def test_replicated_tasks_need_a_merge_task() -> None:
    text = _tasks(
        "  Split: {native: date, flow: {replicate: {script: {cpython: runs = 2}}}}\n"
        "  Work: {native: date, depends: [Split]}\n"
    )
    [message] = _messages(text)
    assert "no merge task depending on 'Work'" in message


def test_unmatched_block_end_is_rejected() -> None:
    [message] = _messages(_tasks("  A: {native: date, flow: {block: end}}\n"))
    assert "block end 'A' has no matching block start" in message
