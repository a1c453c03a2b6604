"""Every real workflow of the corpus survives XML, YAML and mapping round trips unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from workflow_corpus import DESCRIPTORS, EXAMPLES, JOB_FILES, file_id, parsed

from runyard import formats


def test_the_corpus_is_there() -> None:
    assert len([p for p in JOB_FILES if EXAMPLES in p.parents]) >= 70
    assert len([p for p in JOB_FILES if DESCRIPTORS in p.parents]) >= 30


@pytest.mark.parametrize("path", JOB_FILES, ids=file_id)
def test_xml_round_trip(path: Path) -> None:
    workflow = parsed(path)
    again = formats.loads(formats.dump_xml(workflow), validate=False)
    assert again == workflow
    assert workflow.tasks, "a job without tasks means the reader missed them"


@pytest.mark.parametrize("path", JOB_FILES, ids=file_id)
def test_yaml_round_trip(path: Path) -> None:
    workflow = parsed(path)
    assert formats.loads(formats.dump_yaml(workflow), format="yaml", validate=False) == workflow


@pytest.mark.parametrize("path", JOB_FILES, ids=file_id)
def test_mapping_round_trip_through_json(path: Path) -> None:
    workflow = parsed(path)
    data = json.loads(json.dumps(formats.to_mapping(workflow)))
    assert formats.from_mapping(data) == workflow


@pytest.mark.parametrize("path", [p for p in JOB_FILES if EXAMPLES in p.parents], ids=file_id)
def test_every_example_workflow_is_valid(path: Path) -> None:
    assert formats.validate(parsed(path)) == []
