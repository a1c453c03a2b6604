"""Mapping form → model, collecting every problem with its path in the data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from runyard.formats import locations
from runyard.formats.script_text import normalize_code
from runyard.model import (
    Block,
    ControlFlow,
    EnvironmentVariable,
    Executable,
    FileSelector,
    FlowAction,
    ForkEnvironment,
    IfAction,
    JavaExecutable,
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

Path = tuple[str | int, ...]
_T = TypeVar("_T")

WORKFLOW_TEXT = (
    "description",
    "project_name",
    "priority",
    "on_task_error",
    "restart_task_on_error",
    "task_retry_delay",
    "input_space",
    "output_space",
    "global_space",
    "user_space",
    "metadata",
)
TASK_TEXT = (
    "description",
    "on_task_error",
    "restart_task_on_error",
    "task_retry_delay",
    "walltime",
    "result_preview_class",
    "metadata",
)
TASK_FLAGS = ("precious_result", "precious_logs", "run_as_me")
VARIABLE_TEXT = ("model", "description", "group")
VARIABLE_FLAGS = ("advanced", "hidden", "inherited")
SCRIPT_KEYS = ("language", "code", "file", "url", "arguments")
_TASK_KEYS = (
    *TASK_TEXT,
    *TASK_FLAGS,
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
)


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


class MappingReader:
    """Reads one workflow; ``problems`` are (path, message), ``paths`` the location keys."""

    def __init__(self) -> None:
        self.problems: list[tuple[Path, str]] = []
        self.paths: dict[str, Path] = {}

    def fail(self, path: Path, message: str) -> None:
        self.problems.append((path, message))

    # -- values --------------------------------------------------------------------------------

    def mapping(self, value: object, path: Path, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a mapping, got {_kind(value)}")
            return {}
        result = {str(k): v for k, v in value.items()}
        for key in result:
            if key not in allowed:
                self.fail((*path, key), f"unknown key {key!r} (expected one of {', '.join(allowed)})")
        return result

    def text(self, value: object, path: Path) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        if value is None:
            return ""
        self.fail(path, f"expected a text value, got {_kind(value)}")
        return ""

    def optional_text(self, data: dict[str, Any], key: str, path: Path) -> str | None:
        return self.text(data[key], (*path, key)) if key in data else None

    def flag(self, value: object, path: Path) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.fail(path, f"expected true or false, got {_kind(value)}")
        return False

    def integer(self, value: object, path: Path) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        self.fail(path, f"expected an integer, got {_kind(value)}")
        return 0

    def integer_or_reference(self, value: object, path: Path) -> int | str:
        """An integer, or text kept as it is (a ``${VAR}`` reference; validation checks it)."""
        if isinstance(value, str) and not value.strip().isdigit():
            return value
        return self.integer(value, path)

    def texts(self, value: object, path: Path) -> list[str]:
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            self.fail(path, f"expected a list, got {_kind(value)}")
            return []
        return [self.text(item, (*path, i)) for i, item in enumerate(value)]

    def items(self, value: object, path: Path, read: Callable[[object, Path], _T]) -> list[_T]:
        """A list of entries, or a single entry written without the list."""
        if not isinstance(value, list):
            return [read(value, path)]
        return [read(item, (*path, i)) for i, item in enumerate(value)]

    def named(self, value: object, path: Path) -> list[tuple[str, object, Path]]:
        """Entries of a ``NAME: body`` mapping or of a list of bodies holding ``name``."""
        if isinstance(value, Mapping):
            return [(str(name), body, (*path, str(name))) for name, body in value.items()]
        if isinstance(value, list):
            entries: list[tuple[str, object, Path]] = []
            for i, body in enumerate(value):
                if not isinstance(body, Mapping) or "name" not in body:
                    self.fail((*path, i), "expected a mapping with a 'name'")
                    continue
                rest = {k: v for k, v in body.items() if k != "name"}
                entries.append((self.text(body["name"], (*path, i, "name")), rest, (*path, i)))
            return entries
        self.fail(path, f"expected a mapping or a list, got {_kind(value)}")
        return []

    def text_mapping(self, value: object, path: Path) -> dict[str, str]:
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a mapping, got {_kind(value)}")
            return {}
        return {str(k): self.text(v, (*path, str(k))) for k, v in value.items()}

    # -- workflow ------------------------------------------------------------------------------

    def workflow(self, value: object) -> Workflow:
        allowed = ("name", "tags", "variables", "generic_information", "tasks", "max_number_of_execution")
        data = self.mapping(value, (), (*allowed, *WORKFLOW_TEXT))
        self.paths[locations.JOB] = ()
        if "name" not in data:
            self.fail((), "the workflow has no 'name'")
        workflow = Workflow(name=self.text(data.get("name", ""), ("name",)))
        for key in WORKFLOW_TEXT:
            setattr(workflow, key, self.optional_text(data, key, ()))
        if "max_number_of_execution" in data:
            workflow.max_number_of_execution = self.integer_or_reference(
                data["max_number_of_execution"], ("max_number_of_execution",)
            )
        if "tags" in data:
            tags = data["tags"]
            tags = [t.strip() for t in tags.split(",")] if isinstance(tags, str) else tags
            workflow.tags = self.texts(tags, ("tags",))
        workflow.variables = self.variables(data.get("variables", {}), ("variables",), None)
        workflow.generic_information = self.text_mapping(
            data.get("generic_information", {}), ("generic_information",)
        )
        entries = self.named(data.get("tasks", {}), ("tasks",))
        workflow.tasks = [self.task(name, body, path) for name, body, path in entries]
        return workflow

    def variables(self, value: object, path: Path, task: str | None) -> list[Variable]:
        flags = VARIABLE_FLAGS if task is not None else VARIABLE_FLAGS[:2]
        result = []
        for name, body, where in self.named(value, path):
            self.paths.setdefault(locations.variable_key(name, task), where)
            if not isinstance(body, Mapping):
                result.append(Variable(name, self.text(body, where)))
                continue
            data = self.mapping(body, where, ("value", *VARIABLE_TEXT, *flags))
            variable = Variable(name, self.text(data.get("value"), (*where, "value")))
            for key in VARIABLE_TEXT:
                setattr(variable, key, self.optional_text(data, key, where))
            for key in flags:
                if key in data:
                    setattr(variable, key, self.flag(data[key], (*where, key)))
            result.append(variable)
        return result

    # -- task ----------------------------------------------------------------------------------

    def task(self, name: str, value: object, path: Path) -> Task:
        self.paths.setdefault(locations.task_key(name), path)
        data = self.mapping(value if value is not None else {}, path, _TASK_KEYS)
        for key, field in (("depends", "depends"), ("flow", "control_flow")):
            if key in data:
                self.paths.setdefault(locations.field_key(name, field), (*path, key))
        task = Task(name=name)
        if "from" in data:
            self.paths.setdefault(locations.field_key(name, "reference"), (*path, "from"))
            task.reference = self.text(data["from"], (*path, "from"))
        for key in TASK_TEXT:
            setattr(task, key, self.optional_text(data, key, path))
        for key in TASK_FLAGS:
            if key in data:
                setattr(task, key, self.flag(data[key], (*path, key)))
        if "fork" in data:
            task.fork = self.flag(data["fork"], (*path, "fork"))
        if "max_number_of_execution" in data:
            where = (*path, "max_number_of_execution")
            task.max_number_of_execution = self.integer_or_reference(data["max_number_of_execution"], where)
        if "number_of_nodes" in data:
            where = (*path, "number_of_nodes")
            task.number_of_nodes = self.integer_or_reference(data["number_of_nodes"], where)
        task.depends = self.texts(data.get("depends", []), (*path, "depends"))
        task.variables = self.variables(data.get("variables", {}), (*path, "variables"), name)
        task.generic_information = self.text_mapping(
            data.get("generic_information", {}), (*path, "generic_information")
        )
        task.input_files = self.items(data.get("input_files", []), (*path, "input_files"), self.selector)
        task.output_files = self.items(data.get("output_files", []), (*path, "output_files"), self.selector)
        if "parallel" in data:
            task.parallel = self.parallel(data["parallel"], (*path, "parallel"))
        task.selection = self.items(data.get("selection", []), (*path, "selection"), self.selection)
        if "fork_environment" in data:
            task.fork_environment = self.fork_environment(
                data["fork_environment"], (*path, "fork_environment")
            )
        for key in ("pre", "post", "cleaning"):
            if key in data:
                setattr(task, key, self.script(data[key], (*path, key)))
        task.executable = self.executable(name, data, path)
        if "flow" in data:
            task.control_flow = self.control_flow(data["flow"], (*path, "flow"))
        return task

    def executable(self, task: str, data: dict[str, Any], path: Path) -> Executable | None:
        given = [key for key in ("script", "native", "java") if key in data]
        if len(given) > 1:
            self.fail(path, f"a task has one executable, not {' and '.join(given)}")
        if not given:
            return None
        key = given[0]
        self.paths.setdefault(locations.field_key(task, "executable"), (*path, key))
        where = (*path, key)
        if key == "script":
            return ScriptExecutable(self.script(data[key], where))
        if key == "native":
            return self.native(data[key], where)
        java = self.mapping(data[key], where, ("class", "parameters"))
        parameters = self.text_mapping(java.get("parameters", {}), (*where, "parameters"))
        return JavaExecutable(self.text(java.get("class"), (*where, "class")), parameters)

    def native(self, value: object, path: Path) -> NativeExecutable:
        if not isinstance(value, Mapping):
            return NativeExecutable(self.text(value, path))
        data = self.mapping(value, path, ("command", "arguments", "working_dir"))
        return NativeExecutable(
            command=self.text(data.get("command"), (*path, "command")),
            arguments=self.texts(data.get("arguments", []), (*path, "arguments")),
            working_dir=self.optional_text(data, "working_dir", path),
        )

    def selector(self, value: object, path: Path) -> FileSelector:
        data = self.mapping(value, path, ("includes", "excludes", "access_mode"))
        return FileSelector(
            includes=self.texts(data.get("includes", []), (*path, "includes")),
            excludes=self.texts(data.get("excludes", []), (*path, "excludes")),
            access_mode=self.text(data.get("access_mode", "none"), (*path, "access_mode")),
        )

    def parallel(self, value: object, path: Path) -> Parallel:
        if not isinstance(value, Mapping):
            return Parallel(self.integer_or_reference(value, path))
        data = self.mapping(value, path, ("number_of_nodes", "topology", "threshold"))
        nodes = self.integer_or_reference(data.get("number_of_nodes"), (*path, "number_of_nodes"))
        parallel = Parallel(nodes)
        parallel.topology = self.optional_text(data, "topology", path)
        if "threshold" in data:
            parallel.threshold = self.integer(data["threshold"], (*path, "threshold"))
        return parallel

    def fork_environment(self, value: object, path: Path) -> ForkEnvironment:
        keys = (
            "working_dir",
            "java_home",
            "system_environment",
            "jvm_args",
            "additional_classpath",
            "env_script",
        )
        data = self.mapping(value, path, keys)
        fork = ForkEnvironment(
            working_dir=self.optional_text(data, "working_dir", path),
            java_home=self.optional_text(data, "java_home", path),
            jvm_args=self.texts(data.get("jvm_args", []), (*path, "jvm_args")),
            additional_classpath=self.texts(
                data.get("additional_classpath", []), (*path, "additional_classpath")
            ),
        )
        for name, body, where in self.named(
            data.get("system_environment", []), (*path, "system_environment")
        ):
            entry: dict[str, Any] = {"value": body}
            if isinstance(body, Mapping):
                entry = self.mapping(body, where, ("value", "append", "append_char"))
            variable = EnvironmentVariable(name, self.text(entry.get("value"), where))
            variable.append = self.flag(entry.get("append", False), (*where, "append"))
            variable.append_char = self.optional_text(entry, "append_char", where)
            fork.system_environment.append(variable)
        if "env_script" in data:
            fork.env_script = self.script(data["env_script"], (*path, "env_script"))
        return fork

    # -- scripts and flow ----------------------------------------------------------------------

    def script(self, value: object, path: Path, extra: tuple[str, ...] = ()) -> Script:
        """``{language, code | file | url, arguments}``, ``{LANGUAGE: code}`` or bare code."""
        if isinstance(value, str):
            return Script(code=normalize_code(value))
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a script mapping, got {_kind(value)}")
            return Script()
        data = {str(k): v for k, v in value.items()}
        shorthand = [k for k in data if k not in SCRIPT_KEYS and k not in extra]
        script = Script()
        if len(shorthand) > 1 or (shorthand and ("language" in data or "code" in data)):
            self.fail(
                path,
                f"unknown keys {', '.join(shorthand)}: write {{LANGUAGE: code}} or "
                "{language: ..., code: ...}",
            )
        elif shorthand:
            script.language = shorthand[0]
            script.code = normalize_code(self.text(data[shorthand[0]], (*path, shorthand[0])))
        if "code" in data:
            script.code = normalize_code(self.text(data["code"], (*path, "code")))
        script.language = script.language or self.optional_text(data, "language", path)
        script.file = self.optional_text(data, "file", path)
        script.url = self.optional_text(data, "url", path)
        script.arguments = self.texts(data.get("arguments", []), (*path, "arguments"))
        return script

    def selection(self, value: object, path: Path) -> SelectionScript:
        kind = value.get("type", "dynamic") if isinstance(value, Mapping) else "dynamic"
        if kind not in (SelectionType.STATIC, SelectionType.DYNAMIC):
            self.fail((*path, "type"), f"selection type {kind!r} is not 'static' or 'dynamic'")
            kind = SelectionType.DYNAMIC
        return SelectionScript(self.script(value, path, extra=("type",)), SelectionType(kind))

    def control_flow(self, value: object, path: Path) -> ControlFlow:
        data = self.mapping(value if value is not None else {}, path, ("block", "if", "loop", "replicate"))
        flow = ControlFlow()
        block = data.get("block", "none")
        if block in tuple(Block):
            flow.block = Block(block)
        else:
            self.fail((*path, "block"), f"block {block!r} is not 'start', 'end' or 'none'")
        actions = [key for key in ("if", "loop", "replicate") if key in data]
        if len(actions) > 1:
            self.fail(path, f"a task has one flow action, not {' and '.join(actions)}")
        if actions:
            flow.action = self.flow_action(actions[0], data[actions[0]], (*path, actions[0]))
        return flow

    def flow_action(self, kind: str, value: object, path: Path) -> FlowAction:
        keys = {"if": ("target", "else", "continuation"), "loop": ("target",), "replicate": ()}[kind]
        data = self.mapping(value, path, (*keys, "script"))
        if "script" not in data:
            self.fail(path, f"the {kind} action has no 'script'")
        script = self.script(data.get("script", {}), (*path, "script"))
        target = self.text(data.get("target"), (*path, "target"))
        if kind == "if":
            continuation = self.optional_text(data, "continuation", path) or None
            return IfAction(target, self.text(data.get("else"), (*path, "else")), continuation, script)
        if kind == "loop":
            return LoopAction(target, script)
        return ReplicateAction(script)
