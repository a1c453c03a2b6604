"""A workflow: the definition a job is created from (ProActive's ``<job>`` element)."""

from __future__ import annotations

from dataclasses import dataclass, field

from runyard.model.task import Task
from runyard.model.variables import Variable


@dataclass
class Workflow:
    """A workflow definition.

    ``locations`` maps what a format knows of where things were written (``"task:NAME"``,
    ``"variable:NAME"``, ``"job"``) to source lines, for error messages; it takes no part in
    equality, so a round-trip through any format compares equal.
    """

    name: str
    tasks: list[Task] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)
    description: str | None = None
    generic_information: dict[str, str] = field(default_factory=dict)
    project_name: str | None = None
    priority: str | None = None
    on_task_error: str | None = None
    restart_task_on_error: str | None = None
    max_number_of_execution: int | str | None = None
    task_retry_delay: str | None = None
    tags: list[str] = field(default_factory=list)
    input_space: str | None = None
    output_space: str | None = None
    global_space: str | None = None
    user_space: str | None = None
    metadata: str | None = None
    locations: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    source: str | None = field(default=None, compare=False, repr=False)

    def task(self, name: str) -> Task:
        """The task named ``name`` (``KeyError`` if there is none)."""
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(name)
