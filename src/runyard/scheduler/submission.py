"""Turning a workflow plus the user's overrides into a job, or a list of every problem.

Nothing is stored unless every check passes: the workflow's own rules, languages, script
files, unknown or ill-typed variables, typed attributes that reference variables.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from runyard.errors import Problem, SchedulerError, ScriptError, WorkflowError
from runyard.model import (
    JavaExecutable,
    OnTaskError,
    Priority,
    Script,
    ScriptExecutable,
    Task,
    Workflow,
    parse_duration,
)
from runyard.model.substitution import resolve, substitute
from runyard.model.validation import validate
from runyard.model.variable_models import check_variables
from runyard.scheduler.graph import Graph
from runyard.scheduler.specs import Spaces
from runyard.scheduler.state import JobState
from runyard.scripts.registry import (
    LanguageUnavailable,
    check_runnable,
    language_known_at_start,
    resolve_language,
)
from runyard.settings import JobLimits

T = TypeVar("T")

#: Generic information naming the job whose task submitted the job (ProActive's, set by the platform).
PARENT_JOB_ID = "PARENT_JOB_ID"


def check_workflow(workflow: Workflow, *, runnable: bool = True) -> list[Problem]:
    """The workflow's rules, plus what running it needs: known languages, existing script files.

    With ``runnable=False`` (plain validation) what only stops the workflow from running here (see
    :func:`unrunnable`) is left out, as ProActive accepts it: ``runyard validate`` shows it as warnings.
    """
    problems = validate(workflow)
    source_dir = _source_dir(workflow)
    for field, url in _declared_spaces(workflow).items():
        if runnable and url and "://" in url and not url.startswith("file://"):
            problems.append(
                Problem(f"{url!r}: only local folders and file:// URLs are supported", field=field)
            )
    for task in workflow.tasks:
        for where, script in _scripts(task):
            try:
                if not language_known_at_start(script):
                    resolve_language(script)
            except LanguageUnavailable:
                pass  # reported by unrunnable()
            except ScriptError as error:
                problems.append(Problem(str(error), task=task.name, field=where))
            if script.file is not None and "$" not in script.file:
                path = Path(script.file)
                if not path.is_absolute() and source_dir is not None:
                    path = Path(source_dir) / path
                if not path.is_file():
                    problems.append(
                        Problem(f"script file {path} does not exist", task=task.name, field=where)
                    )
    if runnable:
        problems += unrunnable(workflow)
    return problems


def unrunnable(workflow: Workflow) -> list[Problem]:
    """What ProActive would run but runyard cannot here, each with its task, script position and why:
    a ``javaExecutable``, a script in a ProActive language without an engine here (powershell, cmd,
    ruby...) or whose engine is unavailable (its interpreter is absent)."""
    problems = []
    for task in workflow.tasks:
        if isinstance(task.executable, JavaExecutable):
            problems.append(
                Problem(
                    f"javaExecutable {task.executable.class_name} cannot run here: "
                    "runyard runs no Java classes",
                    task=task.name,
                    field="executable",
                )
            )
        for where, script in _scripts(task):
            try:
                if not language_known_at_start(script):
                    check_runnable(script)
            except LanguageUnavailable as error:
                problems.append(Problem(str(error), task=task.name, field=where))
            except ScriptError:
                pass  # an error of the workflow: check_workflow() reports it
    return problems


def check_variable_values(
    workflow: Workflow,
    overrides: Mapping[str, str],
    problems: list[Problem],
    credentials: Collection[str] | None = None,
) -> dict[str, Any]:
    """The job variables with ``overrides`` applied and ``${}`` resolved; every unknown override and
    every value (job or task variable) that does not fit its model is added to ``problems``.

    ``credentials``: the owner's credential names, which ``PA:CREDENTIAL`` values must be one of
    (``None``: not checked, as when running without a server)."""
    declared = {v.name for v in workflow.variables}
    unknown = sorted(set(overrides) - declared)
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        problems.extend(
            Problem(f"the workflow declares no variable '{name}' (declared: {known})", field="variables")
            for name in unknown
        )
    values = resolve({**{v.name: v.value for v in workflow.variables}, **overrides})
    problems.extend(check_variables(workflow.variables, values, credentials=credentials))
    for task in workflow.tasks:
        own = {
            v.name: substitute(v.value, values)
            for v in task.variables
            if not (v.inherited and v.name in values)
        }
        problems.extend(
            check_variables(task.variables, {**values, **own}, task=task.name, credentials=credentials)
        )
    return values


def prepare_job(
    workflow: Workflow,
    variables: Mapping[str, str] | None = None,
    generic_information: Mapping[str, str] | None = None,
    *,
    owner: str,
    now: float,
    credentials: Collection[str] | None = None,
    limits: JobLimits | None = None,
    spaces: Spaces | None = None,
    parent_id: int | None = None,
) -> JobState:
    """A new job (id 0 until stored) with its first task instances; raises WorkflowError.

    ``limits`` and ``spaces``: the platform's bounds and the folders its jobs may name as data spaces
    (``None``: not checked, for a check that runs nothing). ``parent_id``: the job whose task submits
    this one, shown as the generic information ``PARENT_JOB_ID`` (never the submitter's own value)."""
    problems = check_workflow(workflow)
    max_walltime = math.inf
    if limits is not None:
        max_walltime = limits.max_walltime
        if len(workflow.tasks) > limits.max_tasks_per_job:
            problems.append(
                Problem(
                    f"{len(workflow.tasks)} tasks: over the limit of {limits.max_tasks_per_job} "
                    "tasks per job (max_tasks_per_job)",
                    field="tasks",
                )
            )
    values = check_variable_values(workflow, variables or {}, problems, credentials)
    # Resolving only rebinds task attributes: shallow copies keep the caller's workflow intact.
    resolved = dataclasses.replace(workflow, tasks=[dataclasses.replace(t) for t in workflow.tasks])
    attributes = _resolve_attributes(resolved, values, problems, max_walltime)
    gi = {k: substitute(v, values) for k, v in resolved.generic_information.items()}
    gi.update(generic_information or {})
    gi.pop(PARENT_JOB_ID, None)
    if parent_id is not None:
        gi[PARENT_JOB_ID] = str(parent_id)
    _check_walltimes(gi, resolved, values, problems, max_walltime)
    if spaces is not None:
        _check_spaces(resolved, values, owner, spaces, problems)
    if problems:
        raise WorkflowError(problems)
    job = JobState(
        id=0,
        name=resolved.name,
        owner=owner,
        workflow=resolved,
        variables=values,
        generic_information=gi,
        project_name=resolved.project_name,
        submitted_at=now,
        source_dir=_source_dir(workflow),
        priority=attributes.priority,
        on_task_error=attributes.on_task_error,
        max_number_of_execution=attributes.max_number_of_execution,
        task_retry_delay=attributes.task_retry_delay,
        parent_id=parent_id,
    )
    graph = Graph(resolved)
    for task in resolved.tasks:
        job.add_task(task.name, 0, 0, list(graph.depends[task.name]))
    return job


@dataclass
class _Attributes:
    priority: Priority
    on_task_error: OnTaskError
    max_number_of_execution: int
    task_retry_delay: float


class _Resolver:
    """Substitutes attribute values and collects a Problem for each one that does not parse."""

    def __init__(self, values: Mapping[str, str], problems: list[Problem]) -> None:
        self.values = values
        self.problems = problems

    def text(self, value: object | None) -> str | None:
        return None if value is None else substitute(str(value), self.values)

    def parse(
        self, parse: Callable[[str], T], value: str | None, field: str, task: str | None = None
    ) -> T | None:
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as error:
            reason = "it refers to an undefined variable" if "$" in value else str(error)
            self.problems.append(Problem(f"invalid value {value!r}: {reason}", task=task, field=field))
            return None


def _resolve_attributes(
    workflow: Workflow, values: Mapping[str, str], problems: list[Problem], max_walltime: float
) -> _Attributes:
    """Substitute and type-check the attributes that may reference variables (tasks: in place)."""
    r = _Resolver(values, problems)
    policy = r.parse(_policy, r.text(workflow.on_task_error), "onTaskError")
    attributes = _Attributes(
        priority=r.parse(_priority, r.text(workflow.priority), "priority") or Priority.NORMAL,
        on_task_error=OnTaskError.CONTINUE_JOB_EXECUTION if policy in (None, OnTaskError.NONE) else policy,
        max_number_of_execution=r.parse(
            _positive_int, r.text(workflow.max_number_of_execution), "maxNumberOfExecution"
        )
        or 1,
        task_retry_delay=r.parse(_duration, r.text(workflow.task_retry_delay), "taskRetryDelay") or 0.0,
    )
    for task in workflow.tasks:
        task.max_number_of_execution = r.parse(
            _positive_int, r.text(task.max_number_of_execution), "maxNumberOfExecution", task.name
        )
        task_policy = r.parse(_policy, r.text(task.on_task_error), "onTaskError", task.name)
        task.on_task_error = task_policy.value if task_policy is not None else None
        task.walltime = r.text(task.walltime)
        r.parse(walltime_parser(max_walltime), task.walltime, "walltime", task.name)
        task.task_retry_delay = r.text(task.task_retry_delay)
        r.parse(_duration, task.task_retry_delay, "taskRetryDelay", task.name)
        task.number_of_nodes = r.parse(
            _positive_int, r.text(task.number_of_nodes), "numberOfNodes", task.name
        )
        if task.parallel is not None:
            nodes = r.parse(_positive_int, r.text(task.parallel.number_of_nodes), "numberOfNodes", task.name)
            task.parallel = dataclasses.replace(task.parallel, number_of_nodes=nodes or 1)
    return attributes


def _check_walltimes(
    job_gi: Mapping[str, str],
    workflow: Workflow,
    values: Mapping[str, str],
    problems: list[Problem],
    max_walltime: float,
) -> None:
    """A ``WALLTIME`` generic information must be a duration once the job variables are in it
    (one that still refers to a variable is checked when the task starts)."""
    r = _Resolver(values, problems)
    holders: list[tuple[str | None, Mapping[str, str]]] = [(None, job_gi)]
    holders += [(task.name, task.generic_information) for task in workflow.tasks]
    for task, gi in holders:
        text = r.text(gi.get("WALLTIME"))
        if text is not None and "$" not in text:
            r.parse(walltime_parser(max_walltime), text, "genericInformation WALLTIME", task)


def _check_spaces(
    workflow: Workflow, values: Mapping[str, str], owner: str, spaces: Spaces, problems: list[Problem]
) -> None:
    """Declared data spaces must lie where the platform lets the owner's jobs go (one that still
    refers to a variable is checked when each task starts)."""
    for field, url in _declared_spaces(workflow).items():
        text = substitute(url, values) if url else None
        if text and "$" not in text and "://" not in text.removeprefix("file://"):
            try:
                spaces.job_space(field, text, owner, _source_dir(workflow))
            except SchedulerError as error:
                problems.append(Problem(str(error), field=field))


def _declared_spaces(workflow: Workflow) -> dict[str, str | None]:
    return {
        "inputSpace": workflow.input_space,
        "outputSpace": workflow.output_space,
        "globalSpace": workflow.global_space,
        "userSpace": workflow.user_space,
    }


def _priority(value: str) -> Priority:
    return _one_of(Priority, value)


def _policy(value: str) -> OnTaskError:
    return _one_of(OnTaskError, value)


E = TypeVar("E", Priority, OnTaskError)


def _one_of(kind: type[E], value: str) -> E:
    """The member named ``value``, ignoring case as ProActive does."""
    for member in kind:
        if member.value.lower() == value.strip().lower():
            return member
    raise ValueError(f"expected one of {', '.join(m.value for m in kind)}")


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError("expected a whole number of at least 1")
    return number


def _duration(value: str) -> float:
    try:
        return parse_duration(value)
    except (ValueError, OverflowError):
        raise ValueError("expected a duration: ss, mm:ss or hh:mm:ss") from None


def walltime_parser(max_walltime: float) -> Callable[[str], float]:
    """Parses a walltime, refusing one over ``max_walltime`` seconds (``ValueError`` naming it)."""

    def parse(value: str) -> float:
        seconds = _duration(value)
        if seconds > max_walltime:
            raise ValueError(f"over the limit of {max_walltime:g} s (max_walltime)")
        return seconds

    return parse


def _source_dir(workflow: Workflow) -> str | None:
    return str(Path(workflow.source).resolve().parent) if workflow.source else None


def _scripts(task: Task) -> Iterator[tuple[str, Script]]:
    for index, selection in enumerate(task.selection):
        yield f"selection[{index}]", selection.script
    if task.pre is not None:
        yield "pre", task.pre
    if isinstance(task.executable, ScriptExecutable):
        yield "scriptExecutable", task.executable.script
    if task.post is not None:
        yield "post", task.post
    if task.control_flow is not None and task.control_flow.action is not None:
        yield "controlFlow", task.control_flow.action.script
    if task.cleaning is not None:
        yield "cleaning", task.cleaning
