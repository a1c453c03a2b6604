"""The job a notebook builds, cell by cell: its tasks and the control structures begun.

Every change is made on a copy (:meth:`NotebookJob.changed`), kept only when it succeeds: a bad pragma
leaves the job as it was. Control structures follow the ProActive kernel's order of pragmas
(``split → runs → process → merge``, ``start → condition → loop``,
``branch → condition → if → else → continuation``); while one is open, only its next pragma (or
``#%delete_task``) may change the job.
"""

from __future__ import annotations

import ast
import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from runyard import formats
from runyard.kernel.languages import engine_language, with_shared_variables
from runyard.kernel.pragmas import PragmaError
from runyard.model import (
    Block,
    ControlFlow,
    ForkEnvironment,
    IfAction,
    LoopAction,
    ReplicateAction,
    Script,
    ScriptExecutable,
    SelectionScript,
    Task,
    Variable,
    Workflow,
)

MAX_SCRIPT_BYTES = 1_000_000
"""Largest script file ``path=`` reads."""
MAX_TASKS = 10_000
"""Most tasks in the job being built."""
DEFAULT_JOB_NAME = "Unnamed_job"

#: The pragma each open control structure waits for next.
_NEXT = {
    "split": "runs",
    "runs": "process",
    "process": "merge",
    "start": "condition",
    "loop-condition": "loop",
    "branch": "condition",
    "branch-condition": "if",
    "if": "else",
    "else": "continuation",
}


@dataclass
class _Open:
    """A control structure begun: the last step done, its first task, and what was gathered so far."""

    step: str
    anchor: str
    script: Script | None = None
    targets: list[str] = field(default_factory=list)


@dataclass
class NotebookJob:
    name: str | None = None
    tasks: dict[str, Task] = field(default_factory=dict)
    variables: list[Variable] = field(default_factory=list)
    generic_information: dict[str, str] = field(default_factory=dict)
    exports: dict[str, list[str]] = field(default_factory=dict)
    """Task → the variables its code exports."""
    imports: dict[str, str] = field(default_factory=dict)
    """Language → code put before every task's code in that language (``#%import``)."""
    selection: Script | None = None
    fork_environment: Script | None = None
    opened: _Open | None = None
    messages: list[str] = field(default_factory=list)

    def changed(self, change: Callable[[NotebookJob], object]) -> tuple[NotebookJob, list[str]]:
        """The job with ``change`` made to a copy of it, and what the change reported."""
        draft = copy.deepcopy(self)
        draft.messages = []
        change(draft)
        messages, draft.messages = draft.messages, []
        return draft, messages

    # -- tasks -----------------------------------------------------------------------------------

    def define_task(self, params: dict[str, Any], code: str, *, role: str = "task") -> Task:
        """Create or replace the task ``params['name']`` with ``code`` (or the file ``path``) as its script.

        ``role`` is the pragma: ``task`` or one of a control structure's (their defaults: a name made up,
        a dependency on the structure's previous task)."""
        self._check_order(role)
        name = params.get("name") or self._new_name(role)
        language = engine_language(params.get("language"))
        dependencies = params.get("dep", self._default_dependencies(role))
        for parent in dependencies:
            if parent not in self.tasks or parent == name:
                raise PragmaError(
                    f"task {name!r} cannot depend on {parent!r}: {self._known()}", "Parameter error"
                )
        imports, exports = params.get("import", []), params.get("export", [])
        offered = {variable for task, names in self.exports.items() if task != name for variable in names}
        missing = [variable for variable in imports if variable not in offered]
        if missing:
            raise PragmaError(f"no other task exports {', '.join(missing)}", "Parameter error")
        body = self._script(params, code).code or ""
        body = self.imports.get(language, "") + ("\n" if language in self.imports else "") + body
        script = Script(language, with_shared_variables(body, language, imports, exports))
        task = self.tasks.get(name)
        if task is None:
            task = Task(name)
            task.selection = [SelectionScript(copy.deepcopy(self.selection))] if self.selection else []
            task.fork_environment = self._fork_environment(self.fork_environment)
            self.tasks[name] = task
            self.messages.append(f"Task '{name}' created ({language}).")
        else:
            self.messages.append(f"Task '{name}' replaced ({language}).")
        task.executable = ScriptExecutable(script)
        task.depends = list(dict.fromkeys(dependencies))
        task.generic_information = dict(params.get("generic_info", []))
        task.variables = [Variable(key, value) for key, value in params.get("variables", [])]
        self.exports[name] = list(exports)
        self._check_graph()
        if "runs" in params:
            self._replicate_into(task, params["runs"])
        self._advance(role, task)
        return task

    def delete_task(self, name: str) -> None:
        self._task(name)
        del self.tasks[name]
        self.exports.pop(name, None)
        for task in self.tasks.values():
            task.depends = [parent for parent in task.depends if parent != name]
            action = task.control_flow.action if task.control_flow else None
            targets = (
                {action.target, action.else_target, action.continuation}
                if isinstance(action, IfAction)
                else set()
            )
            targets |= {action.target} if isinstance(action, LoopAction) else set()
            if name in targets:
                task.control_flow = None
                self.messages.append(f"The control flow of '{task.name}' named '{name}': removed.")
        if self.opened is not None and (self.opened.anchor == name or name in self.opened.targets):
            self.opened = None
            self.messages.append("The control structure begun with it is abandoned.")
        self.messages.append(f"Task '{name}' deleted.")

    def set_script(self, position: str, params: dict[str, Any], code: str) -> None:
        """The pre, post, selection or fork environment script of a task."""
        task = self._task(params["name"])
        script = self._script(params, code)
        if position == "pre_script":
            task.pre = script
        elif position == "post_script":
            task.post = script
        elif position == "selection_script":
            task.selection = [SelectionScript(script)]
        else:
            task.fork_environment = self._fork_environment(script)
        self.messages.append(f"{position.replace('_', ' ').capitalize()} of '{task.name}' set.")

    def set_job_script(self, position: str, params: dict[str, Any], code: str) -> None:
        """The selection or fork environment script of the tasks created afterwards (``force``: all now)."""
        script = self._script(params, code)
        if position == "job_selection_script":
            self.selection = script
        else:
            self.fork_environment = script
        if params.get("force", False):
            for task in self.tasks.values():
                self.set_script(position.removeprefix("job_"), {"name": task.name, **params}, code)
        self.messages.append(f"{position.replace('_', ' ').capitalize()} saved.")

    def add_imports(self, params: dict[str, Any], code: str) -> None:
        language = engine_language(params.get("language"))
        self.imports[language] = code.rstrip("\n")
        self.messages.append(f"Imports of the {language} tasks saved.")

    def set_flow_script(self, role: str, params: dict[str, Any], code: str) -> None:
        """``#%runs`` or ``#%condition``: the flow script of the open control structure."""
        self._check_order(role)
        opened = self.opened
        assert opened is not None  # _check_order refuses #%runs and #%condition out of a structure
        script = self._script(params, code)
        if role == "runs":
            self.tasks[opened.anchor].control_flow = ControlFlow(action=ReplicateAction(script))
            opened.step = "runs"
            self.messages.append(f"Replicate script of '{opened.anchor}' set.")
            return
        opened.script = script
        opened.step = "loop-condition" if opened.step == "start" else "branch-condition"
        self.messages.append(f"Condition of '{opened.anchor}' saved.")

    def configure_job(self, params: dict[str, Any]) -> None:
        if "name" in params:
            self.name = params["name"]
        if "generic_info" in params:
            self.generic_information = dict(params["generic_info"])
        if "variables" in params:
            self.variables = [Variable(key, value) for key, value in params["variables"]]
        self.messages.append(f"Job '{self.job_name()}' set.")

    def add_graph(self, nodes: list[str], edges: list[tuple[str, str]]) -> None:
        """Tasks (empty Python scripts) for the nodes of a graph; an edge is a dependency."""
        for node in nodes:
            if node not in self.tasks:
                self.tasks[node] = Task(node, ScriptExecutable(Script("cpython", "")))
                self.messages.append(f"Task '{node}' created (cpython, empty).")
        for parent, child in edges:
            depends = self.tasks[child].depends
            if parent not in depends:
                depends.append(parent)
        self._check_graph()

    # -- the workflow ------------------------------------------------------------------------------

    def job_name(self, name: str | None = None) -> str:
        """``name``, else the job's, else the notebook's (Jupyter tells its kernels), else Unnamed_job."""
        notebook = Path(os.environ.get("JPY_SESSION_NAME", "")).stem
        return name or self.name or notebook or DEFAULT_JOB_NAME

    def workflow(self, name: str | None = None) -> Workflow:
        """The job as a workflow; :class:`PragmaError` listing its problems if it cannot be submitted."""
        if self.opened is not None:
            raise PragmaError(f"the control structure begun with '{self.opened.anchor}' {self._awaits()}")
        if not self.tasks:
            raise PragmaError("the job has no task yet: create one with #%task(name=NAME)")
        workflow = Workflow(
            self.job_name(name),
            tasks=copy.deepcopy(list(self.tasks.values())),
            variables=copy.deepcopy(self.variables),
            generic_information=dict(self.generic_information),
        )
        problems = formats.validate(workflow)
        if problems:
            raise PragmaError("\n".join(str(problem) for problem in problems), "Job validation error")
        return workflow

    def draft(self, name: str | None = None) -> Workflow:
        """The job as it stands, finished or not (to draw it)."""
        return Workflow(self.job_name(name), tasks=list(self.tasks.values()))

    # -- helpers -----------------------------------------------------------------------------------

    def _task(self, name: str) -> Task:
        task = self.tasks.get(name)
        if task is None:
            raise PragmaError(f"no task {name!r}: {self._known()}", "Parameter error")
        return task

    def _known(self) -> str:
        return f"the tasks are {', '.join(self.tasks)}" if self.tasks else "there is no task yet"

    def _new_name(self, role: str) -> str:
        base = role if role != "task" else "Task"
        number = 1
        while f"{base}{number}" in self.tasks:
            number += 1
        return f"{base}{number}"

    def _default_dependencies(self, role: str) -> list[str]:
        if role in ("process", "merge", "loop") and self.opened is not None:
            return [self.opened.targets[-1] if self.opened.targets else self.opened.anchor]
        return []

    def _script(self, params: dict[str, Any], code: str) -> Script:
        """The script ``params`` describe: the cell's code or the file ``path``, in ``language`` (Python's
        syntax checked now rather than when the task runs)."""
        language = engine_language(params.get("language"))
        text = self._script_text(params.get("path"), code)
        if language == "cpython":
            try:
                ast.parse(text)
            except SyntaxError as error:
                where = params.get("path") or "the code under the pragma"
                raise PragmaError(f"{where}, line {error.lineno}: {error.msg}", "Syntax error") from None
        return Script(language, text)

    def _script_text(self, path: str | None, code: str) -> str:
        if path is None:
            return code
        file = Path(path).expanduser()
        try:
            if file.stat().st_size > MAX_SCRIPT_BYTES:
                raise PragmaError(f"{path}: larger than {MAX_SCRIPT_BYTES} bytes", "Parameter error")
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PragmaError(f"cannot read {path}: {error}", "Parameter error") from None
        if code.strip():
            self.messages.append(f"WARNING: the cell's code is ignored, {path} is used.")
        return text

    @staticmethod
    def _fork_environment(script: Script | None) -> ForkEnvironment | None:
        return ForkEnvironment(env_script=copy.deepcopy(script)) if script is not None else None

    def _replicate_into(self, task: Task, runs: int) -> None:
        """``#%task(runs=N)``: the task's one parent replicates it N times."""
        if len(task.depends) != 1:
            raise PragmaError(
                f"runs: task {task.name!r} needs exactly one parent to be replicated", "Parameter error"
            )
        parent = self.tasks[task.depends[0]]
        parent.control_flow = ControlFlow(action=ReplicateAction(Script("cpython", f"runs = {runs}")))
        self.messages.append(f"'{parent.name}' replicates '{task.name}' {runs} times.")

    def _check_order(self, role: str) -> None:
        if self.opened is None:
            if role in ("runs", "process", "merge", "condition", "loop", "if", "else", "continuation"):
                raise PragmaError(
                    f"#%{role} belongs to a control structure: begin one with {_BEGINNERS[role]}"
                )
            return
        expected = _NEXT[self.opened.step]
        if role != expected:
            raise PragmaError(f"the control structure begun with '{self.opened.anchor}' {self._awaits()}")

    def _awaits(self) -> str:
        expected = _NEXT[self.opened.step] if self.opened else ""
        return f"awaits #%{expected}() (or #%delete_task(name=...) to abandon it)"

    def _advance(self, role: str, task: Task) -> None:
        if role in ("split", "start", "branch"):
            self.opened = _Open(role, task.name)
            if role == "start":
                task.control_flow = ControlFlow(Block.START)
            return
        opened = self.opened
        if opened is None:
            return
        opened.step = role
        opened.targets.append(task.name)
        if role == "merge":
            self.opened = None
        elif role == "loop":
            assert opened.script is not None
            task.control_flow = ControlFlow(Block.END, LoopAction(opened.anchor, opened.script))
            self.opened = None
        elif role == "continuation":
            assert opened.script is not None
            if_task, else_task, _ = opened.targets
            action = IfAction(if_task, else_task, task.name, opened.script)
            self.tasks[opened.anchor].control_flow = ControlFlow(action=action)
            self.opened = None
        if self.opened is None:
            self.messages.append(f"Control structure of '{opened.anchor}' complete.")

    def _check_graph(self) -> None:
        """Refuse a job over :data:`MAX_TASKS` tasks or whose dependencies make a cycle."""
        if len(self.tasks) > MAX_TASKS:
            raise PragmaError(f"a job holds at most {MAX_TASKS} tasks", "Parameter error")
        try:
            TopologicalSorter({name: task.depends for name, task in self.tasks.items()}).prepare()
        except CycleError as error:
            cycle = " -> ".join(error.args[1])  # each task runs before the next
            raise PragmaError(f"the dependencies make a cycle: {cycle}", "Parameter error") from None


_BEGINNERS = {
    "runs": "#%split()",
    "process": "#%split()",
    "merge": "#%split()",
    "condition": "#%start() or #%branch()",
    "loop": "#%start()",
    "if": "#%branch()",
    "else": "#%branch()",
    "continuation": "#%branch()",
}
