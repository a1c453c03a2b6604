"""What the catalog reads out of a workflow object: enough to list it and render its submission form."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from runyard.formats import loads
from runyard.model import Workflow


@dataclass(frozen=True)
class VariableMetadata:
    """A job variable as a form needs it: value, model (``PA:Integer``...) and presentation hints."""

    name: str
    value: str
    model: str | None
    description: str | None
    group: str | None
    advanced: bool
    hidden: bool


@dataclass(frozen=True)
class WorkflowMetadata:
    name: str
    project_name: str | None
    description: str | None
    variables: tuple[VariableMetadata, ...]
    generic_information: dict[str, str]
    tags: tuple[str, ...]
    tasks: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkflowMetadata:
        return cls(
            name=data["name"],
            project_name=data["project_name"],
            description=data["description"],
            variables=tuple(VariableMetadata(**v) for v in data["variables"]),
            generic_information=dict(data["generic_information"]),
            tags=tuple(data["tags"]),
            tasks=tuple(data["tasks"]),
        )


def workflow_metadata(content: bytes, source: str) -> WorkflowMetadata:
    """Parse and validate ``content`` as a workflow (XML or YAML).

    Raises ``WorkflowError`` listing every problem, each located in ``source``.
    """
    return metadata_of(loads(content, source=source))


def metadata_of(workflow: Workflow) -> WorkflowMetadata:
    """What a listing and a submission form need of ``workflow``."""
    return WorkflowMetadata(
        name=workflow.name,
        project_name=workflow.project_name,
        description=workflow.description.strip() if workflow.description else None,
        variables=tuple(
            VariableMetadata(v.name, v.value, v.model, v.description, v.group, v.advanced, v.hidden)
            for v in workflow.variables
        ),
        generic_information=dict(workflow.generic_information),
        tags=tuple(workflow.tags),
        tasks=tuple(task.name for task in workflow.tasks),
    )
