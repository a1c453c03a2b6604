"""Keys of ``Workflow.locations`` (source line of each part of a workflow) and their use.

Keys, the same for every format:

- ``"job"`` — the job itself (XML ``<job>``, YAML document start);
- ``"variable:NAME"`` — a job variable;
- ``"task:NAME"`` — a task;
- ``"task:NAME/variable:V"`` — a task variable;
- ``"task:NAME/FIELD"`` — a part of a task, FIELD being a model field name
  (``depends``, ``executable``, ``control_flow``...).

A :class:`~runyard.errors.Problem` with ``task``/``field`` is located at the most precise key
known, falling back to its task and then to the job.
"""

from __future__ import annotations

import dataclasses

from runyard.errors import Problem
from runyard.model.variable_models import field_variable

JOB = "job"


def task_key(task: str) -> str:
    return f"task:{task}"


def variable_key(variable: str, task: str | None = None) -> str:
    return f"variable:{variable}" if task is None else f"task:{task}/variable:{variable}"


def field_key(task: str, field: str) -> str:
    return f"task:{task}/{field}"


def locate(problem: Problem, where: dict[str, int], source: str | None) -> Problem:
    """``problem`` with ``source`` and ``line`` filled from ``where`` when it has none."""
    if problem.line is not None:
        return problem
    keys: list[str] = []
    variable = field_variable(problem.field)
    if variable is not None:
        keys.append(variable_key(variable, problem.task))
    if problem.task is not None:
        if problem.field is not None:
            keys.append(field_key(problem.task, problem.field))
        keys.append(task_key(problem.task))
    elif problem.field is not None:
        keys.append(problem.field)
    keys.append(JOB)
    line = next((where[k] for k in keys if k in where), None)
    return dataclasses.replace(problem, source=problem.source or source, line=line)
