"""runyard YAML: short and long forms, safe loading, errors located on their line."""

from __future__ import annotations

import textwrap

import pytest

from runyard import formats
from runyard.errors import WorkflowFormatError
from runyard.model import Block, LoopAction, NativeExecutable, ReplicateAction, Script, ScriptExecutable

EXAMPLE = textwrap.dedent(
    """\
    name: Replicate_Demo
    description: Split, process in parallel, merge
    priority: normal
    max_number_of_execution: 2
    tags: [demo, replicate]
    variables:
      RUNS: 3
      VERBOSE: {value: true, model: PA:Boolean, description: say more}
    generic_information:
      bucketName: basic-examples
    tasks:
      Split:
        fork: true
        script:
          cpython: |
            result = int(variables.get("RUNS"))
        flow:
          replicate:
            script: {cpython: 'runs = int(variables.get("RUNS"))'}
      Process:
        depends: [Split]
        variables:
          SPLIT_DONE: {value: "no", inherited: true}
        script:
          language: bash
          code: echo "$variables_PA_TASK_REPLICATION"
          arguments: [one, two]
        output_files:
          - {includes: ["out_*.txt"], access_mode: transferToUserSpace}
      Merge:
        depends: [Process]
        native: date
    """
)


def test_the_example_loads_with_short_forms_expanded() -> None:
    workflow = formats.loads(EXAMPLE, source="demo.yaml")
    assert [v.value for v in workflow.variables] == ["3", "true"]
    assert workflow.variables[1].model == "PA:Boolean"
    split = workflow.task("Split")
    assert isinstance(split.executable, ScriptExecutable)
    assert split.executable.script.language == "cpython"
    assert split.executable.script.code == 'result = int(variables.get("RUNS"))'
    assert split.control_flow is not None and isinstance(split.control_flow.action, ReplicateAction)
    process = workflow.task("Process")
    assert process.variables[0].inherited and process.depends == ["Split"]
    assert isinstance(process.executable, ScriptExecutable) and process.executable.script.arguments == [
        "one",
        "two",
    ]
    assert workflow.task("Merge").executable == NativeExecutable("date")
    assert workflow.locations["task:Process"] == 20 and workflow.locations["variable:VERBOSE"] == 8


def test_dump_and_load_are_inverse_and_code_is_a_literal_block() -> None:
    workflow = formats.loads(EXAMPLE)
    text = formats.dump_yaml(workflow)
    assert formats.loads(text) == workflow
    assert '      cpython: result = int(variables.get("RUNS"))\n' in text  # one line stays one line
    workflow.task("Merge").executable = ScriptExecutable(Script("bash", code="a=1\necho $a"))
    assert "      bash: |-\n        a=1\n        echo $a\n" in formats.dump_yaml(workflow)


def test_tasks_and_variables_may_be_lists() -> None:
    text = textwrap.dedent(
        """\
        name: Listed
        variables:
          - {name: A, value: x}
        tasks:
          - name: S
            native: {command: echo, arguments: [hi], working_dir: /tmp}
            flow: {block: start}
          - name: E
            depends: S
            native: date
            flow: {block: end, loop: {target: S, script: {python: loop = False}}}
        """
    )
    workflow = formats.loads(text)
    assert workflow.variables[0].value == "x"
    assert workflow.task("S").executable == NativeExecutable("echo", ["hi"], "/tmp")
    flow = workflow.task("E").control_flow
    assert flow is not None and flow.block is Block.END and isinstance(flow.action, LoopAction)


def _problems(text: str) -> list[str]:
    with pytest.raises(WorkflowFormatError) as caught:
        formats.loads(text, format="yaml", source="w.yaml")
    return [str(p) for p in caught.value.problems]


def test_malformed_yaml_gives_its_line() -> None:
    [message] = _problems("name: x\ntasks:\n  A: [unclosed\n  B: 1\n")
    assert message.startswith("w.yaml:4: malformed YAML")


def test_python_tags_are_refused_by_the_safe_loader() -> None:
    [message] = _problems("name: !!python/object/apply:os.system [echo hi]\n")
    assert message.startswith("w.yaml:1: malformed YAML") and "python/object" in message


def test_unknown_keys_bad_types_and_duplicates_are_located() -> None:
    text = textwrap.dedent(
        """\
        name: Bad
        tasks:
          A:
            native: date
            colour: red
          B:
            native: date
            precious_result: maybe
            depends: {A: 1}
            native: time
        """
    )
    assert _problems(text) == [
        "w.yaml:5: tasks.A.colour: unknown key 'colour' (expected one of "
        + ", ".join(
            [
                "description",
                "on_task_error",
                "restart_task_on_error",
                "task_retry_delay",
                "walltime",
                "result_preview_class",
                "metadata",
                "precious_result",
                "precious_logs",
                "run_as_me",
                "fork",
                "max_number_of_execution",
                "number_of_nodes",
                "depends",
                "variables",
                "generic_information",
                "input_files",
                "output_files",
                "parallel",
                "selection",
                "fork_environment",
                "pre",
                "post",
                "cleaning",
                "script",
                "native",
                "java",
                "flow",
                "from",
            ]
        )
        + ")",
        "w.yaml:8: tasks.B.precious_result: expected true or false, got 'maybe'",
        "w.yaml:9: tasks.B.depends: expected a list, got a mapping",
        "w.yaml:10: key 'native' is written twice",
    ]


def test_an_ambiguous_script_is_refused() -> None:
    text = "name: Amb\ntasks:\n  A:\n    script: {bash: echo, cpython: print()}\n"
    [message] = _problems(text)
    assert message.startswith("w.yaml:4: tasks.A.script: unknown keys bash, cpython")


def test_validation_problems_point_at_the_yaml_line() -> None:
    text = "name: Val\ntasks:\n  A:\n    native: date\n    max_number_of_execution: 0\n  A2: {}\n"
    assert _problems(text) == [
        "w.yaml:3: task 'A', max_number_of_execution: 0 must be an integer of at least 1"
        " or a ${VAR} reference",
        "w.yaml:6: task 'A2', executable: the task has no executable"
        " (a script, a native command or a Java class)",
    ]
