"""Rules a workflow must follow before it can be submitted (pure: no I/O).

Attribute rules follow the ProActive job schema (reference §1); control-flow rules are those of
ProActive's flow checker: blocks properly matched and closed, ``if``/``else``/``continuation``
targets without explicit dependencies, ``replicate`` applied to direct children with a merge
point, ``loop`` closing a block that starts at its target. Each problem names its ``task`` and
``field`` so that a format layer can locate it in the source file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from runyard.errors import Problem
from runyard.model.control_flow import Block, IfAction, LoopAction, ReplicateAction
from runyard.model.durations import parse_duration
from runyard.model.environment import TOPOLOGIES
from runyard.model.executables import JavaExecutable, NativeExecutable, ScriptExecutable
from runyard.model.files import FileSelector
from runyard.model.references import TaskReference
from runyard.model.scripts import Script
from runyard.model.statuses import OnTaskError, Priority
from runyard.model.task import Task
from runyard.model.variables import Variable
from runyard.model.workflow import Workflow

VARIABLE_REFERENCE = re.compile(r"^\$\{[A-Za-z0-9._]+\}$")
_NCNAME = re.compile(r"^[^\W\d][\w.\-]*$")
_TAG = re.compile(r"^[A-Za-z_0-9\-\s]+$")
_GRAPH_FIELDS = frozenset({"name", "depends", "control_flow"})
_RESTART_MODES = ("anywhere", "elsewhere")
_INPUT_MODES = frozenset(
    {"none"}
    | {
        f"{verb}From{space}Space"
        for verb in ("transfer", "cache")
        for space in ("Input", "Output", "Global", "User")
    }
)
_OUTPUT_MODES = frozenset({"none", "transferToOutputSpace", "transferToGlobalSpace", "transferToUserSpace"})


def validate(workflow: Workflow) -> list[Problem]:
    """Every problem found in ``workflow`` (an empty list means it can be submitted)."""
    problems: list[Problem] = []
    if len(workflow.name.strip()) < 2:
        problems.append(Problem("the workflow needs a name of at least 2 characters", field="name"))
    problems += _common_attributes(workflow, None)
    problems += [
        Problem(f"tag {t!r} may only hold letters, digits, '_', '-' and spaces", field="tags")
        for t in workflow.tags
        if not _TAG.match(t)
    ]
    problems += _variables(workflow.variables, None)
    names = [task.name for task in workflow.tasks]
    problems += _names(names)
    known = set(names)
    for task in workflow.tasks:
        problems += _task(task, known)
    if not any(p.task is not None and p.field in _GRAPH_FIELDS for p in problems):
        problems += _FlowChecker(workflow.tasks).check()
    return problems


def is_reference(value: object) -> bool:
    """Whether ``value`` is a ``${VAR}`` reference, resolved at submission."""
    return isinstance(value, str) and VARIABLE_REFERENCE.match(value) is not None


def _one_of(
    value: str | None, allowed: Iterable[str], what: str, task: str | None, field: str
) -> list[Problem]:
    choices = list(allowed)
    if value is None or is_reference(value) or value.lower() in (c.lower() for c in choices):
        return []
    return [
        Problem(
            f"{what} {value!r} is not one of {', '.join(choices)} or a ${{VAR}} reference",
            task=task,
            field=field,
        )
    ]


def _duration(value: str | None, task: str | None, field: str) -> list[Problem]:
    if value is None or is_reference(value):
        return []
    try:
        parse_duration(value)
    except ValueError as error:
        return [Problem(str(error), task=task, field=field)]
    return []


def _positive(value: int | str | None, task: str | None, field: str) -> list[Problem]:
    if value is None or is_reference(value) or (isinstance(value, int) and value >= 1):
        return []
    return [
        Problem(f"{value!r} must be an integer of at least 1 or a ${{VAR}} reference", task=task, field=field)
    ]


def _common_attributes(holder: Workflow | Task, task: str | None) -> list[Problem]:
    problems = _one_of(
        holder.on_task_error, [e.value for e in OnTaskError], "onTaskError", task, "on_task_error"
    )
    problems += _one_of(
        holder.restart_task_on_error, _RESTART_MODES, "restartTaskOnError", task, "restart_task_on_error"
    )
    problems += _duration(holder.task_retry_delay, task, "task_retry_delay")
    problems += _positive(holder.max_number_of_execution, task, "max_number_of_execution")
    if isinstance(holder, Workflow):
        problems += _one_of(holder.priority, [p.value for p in Priority], "priority", task, "priority")
    return problems


def _names(names: list[str]) -> list[Problem]:
    problems, seen = [], set()
    for name in names:
        if not _NCNAME.match(name):
            problems.append(
                Problem(
                    f"task name {name!r} is not valid: it must start with a letter or '_' and "
                    "hold only letters, digits, '_', '-' and '.'",
                    task=name,
                    field="name",
                )
            )
        elif name in seen:
            problems.append(Problem(f"task name {name!r} is used by several tasks", task=name, field="name"))
        seen.add(name)
    return problems


def _variables(variables: list[Variable], task: str | None) -> list[Problem]:
    problems, seen = [], set()
    for variable in variables:
        field = f"variable:{variable.name}"
        if not _NCNAME.match(variable.name):
            problems.append(Problem(f"variable name {variable.name!r} is not valid", task=task, field=field))
        elif variable.name in seen:
            problems.append(
                Problem(f"variable {variable.name!r} is declared more than once", task=task, field=field)
            )
        seen.add(variable.name)
    return problems


def _script(script: Script | None, task: str, field: str) -> list[Problem]:
    if script is None:
        return []
    bodies = [body for body in (script.code, script.file, script.url) if body is not None]
    if len(bodies) != 1:
        return [Problem("a script needs exactly one of code, file or url", task=task, field=field)]
    if script.code is not None and not script.language:
        return [Problem("a script with inline code needs a language", task=task, field=field)]
    return []


def _files(selectors: list[FileSelector], modes: frozenset[str], task: str, field: str) -> list[Problem]:
    problems = []
    for selector in selectors:
        if not selector.includes:
            problems.append(
                Problem("a file selector needs at least one include pattern", task=task, field=field)
            )
        if selector.access_mode not in modes and not is_reference(selector.access_mode):
            problems.append(
                Problem(
                    f"access mode {selector.access_mode!r} is not one of {', '.join(sorted(modes))}",
                    task=task,
                    field=field,
                )
            )
    return problems


def _task(task: Task, names: set[str]) -> list[Problem]:
    name = task.name
    problems = _common_attributes(task, name)
    problems += _duration(task.walltime, name, "walltime")
    problems += _positive(task.number_of_nodes, name, "number_of_nodes")
    problems += _variables(task.variables, name)
    problems += [
        Problem(f"depends on {ref!r}, which is not a task of this workflow", task=name, field="depends")
        for ref in task.depends
        if ref not in names
    ]
    problems += _files(task.input_files, _INPUT_MODES, name, "input_files")
    problems += _files(task.output_files, _OUTPUT_MODES, name, "output_files")
    if task.parallel is not None:
        problems += _parallel(task, name)
    for selection in task.selection:
        problems += _script(selection.script, name, "selection")
    for field in ("pre", "post", "cleaning"):
        problems += _script(getattr(task, field), name, field)
    if task.fork_environment is not None:
        problems += _script(task.fork_environment.env_script, name, "fork_environment")
    problems += _executable(task)
    problems += _reference(task)
    if task.control_flow is not None and task.control_flow.action is not None:
        action = task.control_flow.action
        problems += _script(action.script, name, "control_flow")
        targets = [action.target, action.else_target] if isinstance(action, IfAction) else []
        targets += [action.target] if isinstance(action, LoopAction) else []
        targets += [action.continuation] if isinstance(action, IfAction) and action.continuation else []
        problems += [
            Problem(f"flow target {t!r} is not a task of this workflow", task=name, field="control_flow")
            for t in targets
            if t not in names
        ]
    return problems


def _parallel(task: Task, name: str) -> list[Problem]:
    assert task.parallel is not None
    parallel = task.parallel
    problems = _positive(parallel.number_of_nodes, name, "parallel")
    if parallel.topology is not None and parallel.topology not in TOPOLOGIES:
        problems.append(
            Problem(
                f"topology {parallel.topology!r} is not one of {', '.join(TOPOLOGIES)}",
                task=name,
                field="parallel",
            )
        )
    if (parallel.threshold is not None) != (parallel.topology == "thresholdProximity"):
        problems.append(
            Problem(
                "a threshold goes with, and only with, the thresholdProximity topology",
                task=name,
                field="parallel",
            )
        )
    return problems


def _reference(task: Task) -> list[Problem]:
    if task.reference is None:
        return []
    try:
        TaskReference.parse(task.reference)
    except ValueError as error:
        return [Problem(str(error), task=task.name, field="reference")]
    return []


def _executable(task: Task) -> list[Problem]:
    executable = task.executable
    if executable is None and task.reference is not None:
        return []  # the referenced task brings it; checked again once expanded
    if executable is None:
        return [
            Problem(
                "the task has no executable (a script, a native command or a Java class)",
                task=task.name,
                field="executable",
            )
        ]
    if isinstance(executable, ScriptExecutable):
        return _script(executable.script, task.name, "executable")
    if isinstance(executable, NativeExecutable) and not executable.command.strip():
        return [Problem("the native command is empty", task=task.name, field="executable")]
    if isinstance(executable, JavaExecutable) and not executable.class_name.strip():
        return [Problem("the Java executable has no class name", task=task.name, field="executable")]
    return []


class _FlowError(Exception):
    def __init__(self, task: str, message: str, field: str = "control_flow") -> None:
        super().__init__(message)
        self.problem = Problem(message, task=task, field=field)


class _FlowChecker:
    """The task graph with its flow links; ``check`` applies ProActive's flow rules in order,
    stopping at the first rule broken (later rules assume the earlier ones hold)."""

    def __init__(self, tasks: list[Task]) -> None:
        self.order = [t.name for t in tasks]
        self.tasks = {t.name: t for t in tasks}
        self.parents = {t.name: list(t.depends) for t in tasks}
        self.children: dict[str, list[str]] = {name: [] for name in self.order}
        for task in tasks:
            for parent in task.depends:
                self.children[parent].append(task.name)
        self.targets: dict[str, list[str]] = {name: [] for name in self.order}  # if task → if/else targets
        self.target_of: dict[str, str] = {}
        self.joins: dict[str, list[str]] = {name: [] for name in self.order}  # continuation → branch ends
        self.joined_by: dict[str, str] = {}
        self.blocks: list[tuple[str, str]] = []

    def action(self, name: str) -> IfAction | LoopAction | ReplicateAction | None:
        flow = self.tasks[name].control_flow
        return None if flow is None else flow.action

    def block(self, name: str) -> Block:
        flow = self.tasks[name].control_flow
        return Block.NONE if flow is None else flow.block

    def ifs(self) -> list[tuple[str, IfAction]]:
        return [(n, a) for n in self.order if isinstance(a := self.action(n), IfAction)]

    def check(self) -> list[Problem]:
        phases = (self.link_branches, self.check_cycles, self.check_blocks)
        for phase in phases:
            try:
                phase()
            except _FlowError as error:
                return [error.problem]
        problems = []
        for name in self.order:
            for rule in (self.check_replicate, self.check_loop, self.check_if):
                try:
                    rule(name)
                except _FlowError as error:
                    problems.append(error.problem)
                    break
        return problems

    # -- graph construction ------------------------------------------------------------------------

    def link_branches(self) -> None:
        for name, action in self.ifs():
            if action.target == action.else_target:
                raise _FlowError(name, f"the if and else targets are the same task {action.target!r}")
            for target in (action.target, action.else_target):
                if target in self.target_of:
                    raise _FlowError(
                        target,
                        f"task {target!r} is the target of several if actions "
                        f"({self.target_of[target]!r} and {name!r})",
                    )
                self.target_of[target] = name
                self.targets[name].append(target)
        for _, action in self.ifs():
            if action.continuation:
                for branch in (action.target, action.else_target):
                    end = self.branch_end(branch)
                    self.joins[action.continuation].append(end)
                    self.joined_by[end] = action.continuation

    def branch_end(self, start: str) -> str:
        """The last task of an if branch: follow first children, nested else branches and
        nested continuations until nothing follows."""
        pending: list[str] = []
        current, seen = start, {start}
        while True:
            action = self.action(current)
            if isinstance(action, IfAction) and action.continuation:
                pending.append(action.continuation)
            following = self.children[current][0] if self.children[current] else None
            if following is None and isinstance(action, IfAction):
                following = action.else_target
            if following is None and pending:
                following = pending.pop()
            if following is None or following in seen or following not in self.tasks:
                return current
            seen.add(following)
            current = following

    def down(self, name: str) -> list[str]:
        joined = [self.joined_by[name]] if name in self.joined_by else []
        return self.children[name] + self.targets[name] + joined

    def up(self, name: str) -> list[str]:
        origin = [self.target_of[name]] if name in self.target_of else []
        return self.parents[name] + self.joins[name] + origin

    # -- rules ---------------------------------------------------------------------------------

    def check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        path: list[str] = []

        def visit(name: str) -> None:
            state[name] = 1
            path.append(name)
            for following in self.down(name):
                if state.get(following) == 1:
                    cycle = [*path[path.index(following) :], following]
                    raise _FlowError(
                        following,
                        "cycle through dependencies and if/continuation links: " + " -> ".join(cycle),
                        field="depends",
                    )
                if following not in state:
                    visit(following)
            path.pop()
            state[name] = 2

        for name in self.order:
            if name not in state:
                visit(name)

    def check_blocks(self) -> None:
        done: set[str] = set()
        triggered: set[str] = set()
        for root in (n for n in self.order if not self.parents[n]):
            opened: list[str] = []
            self.match_blocks(root, done, triggered, opened, [])
            if opened:
                raise _FlowError(opened[0], f"block start {opened[0]!r} has no matching block end")
        for start, end in self.blocks:
            self.check_block_down(start, end)
            self.check_block_up(start, end)

    def match_blocks(
        self, name: str, done: set[str], triggered: set[str], opened: list[str], continuations: list[str]
    ) -> None:
        """Depth-first walk pairing each block end with the innermost open block start."""
        if self.joins[name] and name not in triggered:
            return
        if name in self.target_of and self.target_of[name] not in done:
            return
        if name in done:
            return
        done.add(name)
        block = self.block(name)
        if block is Block.START:
            opened.append(name)
        elif block is Block.END:
            if not opened:
                raise _FlowError(name, f"block end {name!r} has no matching block start")
            self.blocks.append((opened.pop(), name))
        following = list(self.children[name])
        if not following:
            action = self.action(name)
            if isinstance(action, IfAction):
                if action.continuation:
                    continuations.append(action.continuation)
                following += self.targets[name]
            elif continuations:
                join = continuations.pop()
                triggered.add(join)
                following.append(join)
        for child in following:
            self.match_blocks(child, done, triggered, opened, continuations)

    def check_block_down(self, start: str, end: str) -> None:
        seen, stack = set(), [start]
        while stack:
            name = stack.pop()
            if name == end or name in seen:
                continue
            seen.add(name)
            following = self.down(name)
            if not following:
                raise _FlowError(
                    name,
                    f"the block from {start!r} to {end!r} does not join all its flows: "
                    f"{name!r} leads out of it",
                )
            stack += following

    def check_block_up(self, start: str, end: str) -> None:
        seen, stack = set(), [end]
        while stack:
            name = stack.pop()
            if name == start or name in seen:
                continue
            seen.add(name)
            preceding = self.up(name)
            if not preceding:
                raise _FlowError(
                    name,
                    f"the block from {start!r} to {end!r} has external dependencies: "
                    f"{name!r} is reached without going through {start!r}",
                )
            stack += preceding

    def check_replicate(self, name: str) -> None:
        if not isinstance(self.action(name), ReplicateAction):
            return
        for child in self.children[name]:
            if len(self.parents[child]) != 1:
                raise _FlowError(
                    child, f"{child!r} is replicated by {name!r}, so it must depend on {name!r} only"
                )
            if self.block(child) is Block.END:
                raise _FlowError(child, f"{child!r} is replicated by {name!r}, so it cannot end a block")
            end = next((e for s, e in self.blocks if s == child), child)
            if not self.children[end]:
                raise _FlowError(
                    end, f"the tasks replicated by {name!r} have no merge task depending on {end!r}"
                )
            if isinstance(self.action(end), IfAction | ReplicateAction):
                raise _FlowError(
                    end, f"{end!r} ends what {name!r} replicates, so it cannot have an if or replicate action"
                )

    def check_loop(self, name: str) -> None:
        action = self.action(name)
        if not isinstance(action, LoopAction):
            return
        target = action.target
        single = target == name and self.block(name) is Block.NONE
        if not single and (target, name) not in self.blocks:
            raise _FlowError(
                name,
                f"a loop must end a block that starts at its target {target!r} "
                f'(block="start" on {target!r}, block="end" on {name!r})',
            )
        if len(self.parents[target]) > 1:
            raise _FlowError(
                target, f"{target!r} starts the loop of {name!r}, so it may depend on one task at most"
            )

    def check_if(self, name: str) -> None:
        action = self.action(name)
        if not isinstance(action, IfAction):
            return
        if not action.continuation:
            for target in (action.target, action.else_target):
                if self.parents[target]:
                    raise _FlowError(
                        target,
                        f"{target!r} is a branch of the if in {name!r}, so it cannot have "
                        "explicit dependencies",
                    )
                self.check_loose_branch(name, target)
            return
        ends = []
        for target, kind in ((action.target, "if"), (action.else_target, "else")):
            end = next((e for s, e in self.blocks if s == target), None)
            if end is None:
                if self.children[target] or self.targets[target]:
                    raise _FlowError(target, f"the {kind} branch {target!r} of {name!r} is not a task block")
                end = target
            if self.parents[target]:
                raise _FlowError(
                    target,
                    f"{target!r} is the {kind} branch of {name!r}, so it cannot have explicit dependencies",
                )
            if self.children[end]:
                raise _FlowError(
                    end, f"{end!r} ends the {kind} branch of {name!r}, so no task may depend on it"
                )
            ends.append(end)
        join = action.continuation
        for end in self.joins[join]:
            if end not in ends:
                raise _FlowError(join, f"continuation {join!r} of {name!r} also closes another if action")
        if self.parents[join]:
            raise _FlowError(
                join, f"{join!r} is the continuation of {name!r}, so it cannot have explicit dependencies"
            )

    def check_loose_branch(self, name: str, target: str) -> None:
        """Without a continuation, the tasks under a branch may only depend on that branch."""
        branch, stack = set(), [target]
        while stack:
            current = stack.pop()
            if current not in branch:
                branch.add(current)
                stack += self.children[current] + self.targets[current]
        for member in branch - {target}:
            try:
                self.check_block_up(target, member)
            except _FlowError:
                raise _FlowError(
                    member,
                    f"the if branch {target!r} of {name!r} has external dependencies: "
                    f"{member!r} depends on a task outside the branch",
                ) from None
