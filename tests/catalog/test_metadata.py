from __future__ import annotations

import pytest

from catalog.helpers import BROKEN_WORKFLOW, WORKFLOW_XML, WORKFLOW_YAML
from runyard.catalog.metadata import VariableMetadata, WorkflowMetadata, workflow_metadata
from runyard.errors import WorkflowError


def test_xml_workflow_metadata() -> None:
    assert workflow_metadata(WORKFLOW_XML, "b/Train") == WorkflowMetadata(
        name="Train",
        project_name="Models",
        description="Train a model.",
        variables=(
            VariableMetadata(
                "EPOCHS", "10", "PA:Integer[1,100]", "Passes over the data", "Training", True, False
            ),
            VariableMetadata("TOKEN", "", "PA:HIDDEN", None, None, False, True),
        ),
        generic_information={"workflow.icon": "/icons/train.png"},
        tags=("ml", "demo"),
        tasks=("Prepare", "Fit"),
    )


def test_yaml_workflow_metadata_round_trips_through_json() -> None:
    metadata = workflow_metadata(WORKFLOW_YAML, "b/Greet")
    assert (metadata.name, metadata.project_name, metadata.tasks) == ("Greet", None, ("Say",))
    assert metadata.variables == (
        VariableMetadata("WHO", "world", "PA:NOT_EMPTY_STRING", None, None, False, False),
    )
    assert WorkflowMetadata.from_json(metadata.to_json()) == metadata


def test_a_workflow_with_problems_is_refused_with_each_located() -> None:
    with pytest.raises(WorkflowError) as refused:
        workflow_metadata(BROKEN_WORKFLOW, "b/Broken")
    assert [p.source for p in refused.value.problems] == ["b/Broken"] * len(refused.value.problems)
    assert any("Nowhere" in p.message for p in refused.value.problems)
