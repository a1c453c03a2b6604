"""The mapping form of a workflow: plain JSON-able data, lossless both ways.

It is also the runyard YAML syntax (``docs/workflow-format.md``): ``to_mapping`` writes the
shortest form (a variable holding only a value is ``NAME: value``, a script is
``{LANGUAGE: code}``...), ``from_mapping`` accepts the short and the long forms.
"""

from __future__ import annotations

from typing import Any

from runyard.errors import Problem, WorkflowFormatError
from runyard.formats.mapping_reader import TASK_FLAGS, VARIABLE_FLAGS, VARIABLE_TEXT, MappingReader, Path
from runyard.model import (
    Block,
    ControlFlow,
    EnvironmentVariable,
    Executable,
    FileSelector,
    ForkEnvironment,
    IfAction,
    LoopAction,
    NativeExecutable,
    Parallel,
    ReplicateAction,
    Script,
    ScriptExecutable,
    SelectionScript,
    SelectionType,
    Task,
    Variable,
    Workflow,
)

# -- model → mapping ---------------------------------------------------------------------------


def to_mapping(workflow: Workflow) -> dict[str, Any]:
    """``workflow`` as plain data (str, int, bool, list, dict), in its shortest lossless form."""
    data: dict[str, Any] = {"name": workflow.name}
    _put_text(data, workflow, ("description", "project_name", "priority", "on_task_error"))
    _put_text(data, workflow, ("restart_task_on_error", "max_number_of_execution", "task_retry_delay"))
    if workflow.tags:
        data["tags"] = list(workflow.tags)
    if workflow.variables:
        data["variables"] = _variables_out(workflow.variables)
    if workflow.generic_information:
        data["generic_information"] = dict(workflow.generic_information)
    _put_text(data, workflow, ("input_space", "output_space", "global_space", "user_space"))
    tasks = [_task_out(task) for task in workflow.tasks]
    if len({task.name for task in workflow.tasks}) == len(tasks):
        data["tasks"] = {task.pop("name"): task for task in tasks}
    else:
        data["tasks"] = tasks
    _put_text(data, workflow, ("metadata",))
    return data


def _put_text(data: dict[str, Any], holder: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(holder, name)
        if value is not None:
            data[name] = value


def _variables_out(variables: list[Variable]) -> dict[str, Any] | list[dict[str, Any]]:
    bodies = []
    for variable in variables:
        body: dict[str, Any] = {"name": variable.name, "value": variable.value}
        _put_text(body, variable, VARIABLE_TEXT)
        body.update({flag: True for flag in VARIABLE_FLAGS if getattr(variable, flag)})
        bodies.append(body)
    if len({v.name for v in variables}) != len(variables):
        return bodies
    short: dict[str, Any] = {}
    for body in bodies:
        name = body.pop("name")
        short[name] = body["value"] if len(body) == 1 else body
    return short


def _task_out(task: Task) -> dict[str, Any]:
    data: dict[str, Any] = {"name": task.name}
    if task.reference is not None:
        data["from"] = task.reference
    _put_text(data, task, ("description",))
    if task.depends:
        data["depends"] = list(task.depends)
    if task.variables:
        data["variables"] = _variables_out(task.variables)
    if task.generic_information:
        data["generic_information"] = dict(task.generic_information)
    _put_text(data, task, ("on_task_error", "restart_task_on_error", "max_number_of_execution"))
    _put_text(data, task, ("task_retry_delay", "walltime", "number_of_nodes", "fork"))
    data.update({flag: True for flag in TASK_FLAGS if getattr(task, flag)})
    _put_text(data, task, ("result_preview_class",))
    if task.input_files:
        data["input_files"] = [_selector_out(s) for s in task.input_files]
    if task.parallel is not None:
        data["parallel"] = _parallel_out(task.parallel)
    if task.selection:
        data["selection"] = [_selection_out(s) for s in task.selection]
    if task.fork_environment is not None:
        data["fork_environment"] = _fork_out(task.fork_environment)
    if task.pre is not None:
        data["pre"] = script_out(task.pre)
    if task.executable is not None:
        data.update(_executable_out(task.executable))
    if task.control_flow is not None:
        data["flow"] = _flow_out(task.control_flow)
    for name in ("post", "cleaning"):
        if getattr(task, name) is not None:
            data[name] = script_out(getattr(task, name))
    if task.output_files:
        data["output_files"] = [_selector_out(s) for s in task.output_files]
    _put_text(data, task, ("metadata",))
    return data


def script_out(script: Script) -> dict[str, Any]:
    """``{LANGUAGE: code}`` when that says it all, else the explicit keys."""
    data: dict[str, Any]
    plain = script.file is None and script.url is None and script.code is not None
    if (
        plain
        and script.language is not None
        and script.language not in ("language", "code", "file", "url", "arguments", "type")
    ):
        data = {script.language: script.code}
    else:
        data = {}
        _put_text(data, script, ("language", "code", "file", "url"))
    if script.arguments:
        data["arguments"] = list(script.arguments)
    return data


def _selection_out(selection: SelectionScript) -> dict[str, Any]:
    data = script_out(selection.script)
    if selection.type is SelectionType.STATIC:
        data["type"] = "static"
    return data


def _selector_out(selector: FileSelector) -> dict[str, Any]:
    data: dict[str, Any] = {"includes": list(selector.includes)}
    if selector.excludes:
        data["excludes"] = list(selector.excludes)
    if selector.access_mode != "none":
        data["access_mode"] = selector.access_mode
    return data


def _parallel_out(parallel: Parallel) -> dict[str, Any]:
    data: dict[str, Any] = {"number_of_nodes": parallel.number_of_nodes}
    _put_text(data, parallel, ("topology", "threshold"))
    return data


def _fork_out(fork: ForkEnvironment) -> dict[str, Any]:
    data: dict[str, Any] = {}
    _put_text(data, fork, ("working_dir", "java_home"))
    if fork.system_environment:
        data["system_environment"] = [_environment_out(v) for v in fork.system_environment]
    if fork.jvm_args:
        data["jvm_args"] = list(fork.jvm_args)
    if fork.additional_classpath:
        data["additional_classpath"] = list(fork.additional_classpath)
    if fork.env_script is not None:
        data["env_script"] = script_out(fork.env_script)
    return data


def _environment_out(variable: EnvironmentVariable) -> dict[str, Any]:
    data: dict[str, Any] = {"name": variable.name, "value": variable.value}
    if variable.append:
        data["append"] = True
    _put_text(data, variable, ("append_char",))
    return data


def _executable_out(executable: Executable) -> dict[str, Any]:
    if isinstance(executable, ScriptExecutable):
        return {"script": script_out(executable.script)}
    if isinstance(executable, NativeExecutable):
        if not executable.arguments and executable.working_dir is None:
            return {"native": executable.command}
        native: dict[str, Any] = {"command": executable.command}
        if executable.arguments:
            native["arguments"] = list(executable.arguments)
        _put_text(native, executable, ("working_dir",))
        return {"native": native}
    java: dict[str, Any] = {"class": executable.class_name}
    if executable.parameters:
        java["parameters"] = dict(executable.parameters)
    return {"java": java}


def _flow_out(flow: ControlFlow) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if flow.block is not Block.NONE:
        data["block"] = flow.block.value
    action = flow.action
    if isinstance(action, IfAction):
        branch: dict[str, Any] = {"target": action.target, "else": action.else_target}
        _put_text(branch, action, ("continuation",))
        data["if"] = {**branch, "script": script_out(action.script)}
    elif isinstance(action, LoopAction):
        data["loop"] = {"target": action.target, "script": script_out(action.script)}
    elif isinstance(action, ReplicateAction):
        data["replicate"] = {"script": script_out(action.script)}
    return data


# -- mapping → model ---------------------------------------------------------------------------


def from_mapping(data: object) -> Workflow:
    """The workflow held by ``data``; raises ``WorkflowFormatError`` listing every problem."""
    workflow, problems, _ = read_mapping(data)
    if problems:
        raise WorkflowFormatError([Problem(f"{dotted(path)}: {message}") for path, message in problems])
    return workflow


def read_mapping(data: object) -> tuple[Workflow, list[tuple[Path, str]], dict[str, Path]]:
    """The workflow, every problem as (path in ``data``, message), and the path of each
    location key (see ``runyard.formats.locations``)."""
    reader = MappingReader()
    workflow = reader.workflow(data)
    return workflow, reader.problems, reader.paths


def dotted(path: Path) -> str:
    return ".".join(str(p) for p in path) or "(document)"
