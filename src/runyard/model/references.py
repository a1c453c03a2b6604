"""Task references: a task of a workflow standing for the one task of a catalog object.

A task library (the bucket ``machine-learning``) holds one-task workflows; a pipeline names them
(``from: machine-learning/Split_Data``) and says only what differs. Merging is pure: the caller fetches
the library task (:mod:`runyard.formats.task_references`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from runyard.model.control_flow import ControlFlow, IfAction, LoopAction
from runyard.model.task import Task
from runyard.model.variables import Variable

#: Generic information an expanded task keeps: the object and revision it was made from.
ORIGIN_KEY = "runyard.from"

_REFERENCE = re.compile(r"^(?P<bucket>[^/@\s]+)/(?P<name>[^/@\s]+)(?:@(?P<revision>[0-9]{1,9}))?$")
_NOT_OVERRIDDEN = ("name", "reference")


@dataclass(frozen=True)
class TaskReference:
    """``bucket/name`` (the latest revision) or ``bucket/name@revision``."""

    bucket: str
    name: str
    revision: int | None = None

    @classmethod
    def parse(cls, text: str) -> TaskReference:
        """Raises ``ValueError`` saying what form is expected."""
        match = _REFERENCE.match(text.strip())
        if match is None:
            raise ValueError(
                f"{text!r} is not a catalog reference: expected BUCKET/OBJECT or BUCKET/OBJECT@REVISION"
            )
        revision = match["revision"]
        return cls(match["bucket"], match["name"], int(revision) if revision is not None else None)

    def __str__(self) -> str:
        return f"{self.bucket}/{self.name}" + (f"@{self.revision}" if self.revision is not None else "")


def merge(library: Task, task: Task, origin: str) -> Task:
    """``library`` under ``task``'s name, every field ``task`` sets (differs from its default) replacing
    the library's, except variables and generic information, merged by name. The library task's own
    dependencies are dropped (they named tasks of its own workflow); a flow target naming the library task
    follows the rename. ``origin`` (``bucket/name@revision``) is kept as generic information."""
    merged = dataclasses.replace(library, name=task.name, depends=[], reference=None)
    for field in dataclasses.fields(Task):
        if field.name in _NOT_OVERRIDDEN:
            continue
        value = getattr(task, field.name)
        if value == _default(field):
            continue
        if field.name == "variables":
            merged.variables = _merge_variables(library.variables, value)
        elif field.name == "generic_information":
            merged.generic_information = {**library.generic_information, **value}
        else:
            setattr(merged, field.name, value)
    if task.control_flow is None and merged.control_flow is not None:
        merged.control_flow = _renamed_targets(merged, library.name)
    merged.generic_information = {**merged.generic_information, ORIGIN_KEY: origin}
    return merged


def _default(field: dataclasses.Field[object]) -> object:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def _merge_variables(library: list[Variable], overrides: list[Variable]) -> list[Variable]:
    """A variable the library has keeps its model, description and flags unless the override gives them."""
    merged = {variable.name: variable for variable in library}
    for override in overrides:
        known = merged.get(override.name)
        if known is None:
            merged[override.name] = override
            continue
        changes = {
            field.name: getattr(override, field.name)
            for field in dataclasses.fields(Variable)
            if field.name not in ("name", "value") and getattr(override, field.name) != _default(field)
        }
        merged[override.name] = dataclasses.replace(known, value=override.value, **changes)
    return list(merged.values())


def _renamed_targets(task: Task, old: str) -> ControlFlow:
    flow = task.control_flow
    assert flow is not None
    action = flow.action
    rename = {old: task.name}
    if isinstance(action, LoopAction):
        action = dataclasses.replace(action, target=rename.get(action.target, action.target))
    elif isinstance(action, IfAction):
        action = dataclasses.replace(
            action,
            target=rename.get(action.target, action.target),
            else_target=rename.get(action.else_target, action.else_target),
            continuation=rename.get(action.continuation or "", action.continuation),
        )
    return dataclasses.replace(flow, action=action)
