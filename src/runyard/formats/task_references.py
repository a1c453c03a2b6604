"""Expanding task references (``from: bucket/object``) into the tasks they stand for.

Where the library tasks come from is the caller's: the server reads its catalog as the submitting user,
``runyard run`` reads the built-in buckets shipped with the package (:func:`builtin_fetch`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from runyard.errors import Problem, WorkflowFormatError
from runyard.formats.loading import loads, validate
from runyard.model import Task, Workflow
from runyard.model.references import TaskReference, merge


@dataclasses.dataclass(frozen=True)
class LibraryObject:
    """A fetched catalog object: its content and the revision it is (``None`` when unversioned)."""

    content: bytes
    revision: int | None


class UnresolvedReference(LookupError):
    """The object cannot be had; the message says why, for the user."""


#: Fetches an object; raises :class:`UnresolvedReference`.
Fetch = Callable[[TaskReference], LibraryObject]


def expand_references(workflow: Workflow, fetch: Fetch) -> Workflow:
    """The workflow with every reference replaced by its merged task, then validated as a whole.

    Raises ``WorkflowFormatError`` listing every reference that cannot be resolved (unknown object, not
    readable, not a one-task workflow, itself a reference) and every problem of the expanded workflow."""
    if all(task.reference is None for task in workflow.tasks):
        return workflow
    problems: list[Problem] = []
    fetched: dict[TaskReference, tuple[Task, str]] = {}
    tasks = []
    for task in workflow.tasks:
        if task.reference is None:
            tasks.append(task)
            continue
        try:
            reference = TaskReference.parse(task.reference)
            if reference not in fetched:
                fetched[reference] = _library_task(reference, fetch)
        except (ValueError, UnresolvedReference) as error:
            problems.append(Problem(str(error), task=task.name, field="reference"))
            tasks.append(task)
            continue
        library, origin = fetched[reference]
        tasks.append(merge(library, task, origin))
    if problems:
        raise WorkflowFormatError(problems)
    expanded = dataclasses.replace(workflow, tasks=tasks)
    problems = validate(expanded)
    if problems:
        raise WorkflowFormatError(problems)
    return expanded


def _library_task(reference: TaskReference, fetch: Fetch) -> tuple[Task, str]:
    library = fetch(reference)
    source = f"{reference.bucket}/{reference.name}"
    origin = source if library.revision is None else f"{source}@{library.revision}"
    try:
        workflow = loads(library.content, source=f"catalog:{origin}")
    except WorkflowFormatError as error:
        raise UnresolvedReference(f"{origin} is not a valid workflow: {error.problems[0]}") from None
    if len(workflow.tasks) != 1:
        raise UnresolvedReference(
            f"{origin} holds {len(workflow.tasks)} tasks: a task reference names a one-task workflow"
        )
    task = workflow.tasks[0]
    if task.reference is not None:
        raise UnresolvedReference(
            f"{origin} is itself a reference (to {task.reference}): references do not nest"
        )
    return task, origin
