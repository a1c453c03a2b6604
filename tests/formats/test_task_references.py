"""Task references (``from: bucket/object``): read in YAML and XML, merged with the library task, refused
with a located reason when they cannot be resolved."""

from __future__ import annotations

import pytest

from runyard import formats
from runyard.catalog.builtin import builtin_fetch
from runyard.errors import WorkflowFormatError
from runyard.formats.task_references import LibraryObject, UnresolvedReference, expand_references
from runyard.model import LoopAction, ScriptExecutable, Task, Variable, Workflow
from runyard.model.references import ORIGIN_KEY, TaskReference

LIBRARY_TASK = """
name: Split_Data
tasks:
  Split_Data:
    description: Split a data frame
    variables:
      TASK_ENABLED: {value: "true", model: "PA:Boolean", description: "If false, the task is skipped"}
      TRAIN_SIZE: {value: "0.7", model: "PA:Float", description: "Share of rows to train on"}
    generic_information: {task.icon: split.png}
    walltime: "10:00"
    script:
      cpython: result = float(variables.get("TRAIN_SIZE"))
"""
TWO_TASKS = """
name: Pair
tasks:
  A: {script: {cpython: result = 1}}
  B: {script: {cpython: result = 2}}
"""
PIPELINE = """
name: Pipeline
tasks:
  Load:
    script: {cpython: result = 0}
  Split:
    from: lib/Split_Data
    depends: [Load]
    variables:
      TRAIN_SIZE: "0.6"
      EXTRA: "x"
    generic_information: {task.icon: mine.png}
"""


def library(objects: dict[str, str], revision: int = 3) -> object:
    def fetch(reference: TaskReference) -> LibraryObject:
        key = f"{reference.bucket}/{reference.name}"
        if key not in objects:
            raise UnresolvedReference(f"{reference}: no such object")
        return LibraryObject(objects[key].encode(), reference.revision or revision)

    return fetch


def expand(text: str, objects: dict[str, str]) -> Workflow:
    return expand_references(formats.loads(text), library(objects))  # type: ignore[arg-type]


def test_a_reference_takes_the_library_task_and_overrides_what_it_gives() -> None:
    workflow = expand(PIPELINE, {"lib/Split_Data": LIBRARY_TASK})
    split = workflow.task("Split")
    assert split.reference is None
    assert split.depends == ["Load"]
    assert split.description == "Split a data frame"
    assert split.walltime == "10:00"
    assert isinstance(split.executable, ScriptExecutable)
    assert "TRAIN_SIZE" in (split.executable.script.code or "")
    variables = {v.name: v for v in split.variables}
    assert variables["TRAIN_SIZE"].value == "0.6"
    assert (variables["TRAIN_SIZE"].model, variables["TRAIN_SIZE"].description) == (
        "PA:Float",
        "Share of rows to train on",
    )
    assert variables["TASK_ENABLED"].value == "true"
    assert variables["EXTRA"].value == "x"
    assert split.generic_information == {"task.icon": "mine.png", ORIGIN_KEY: "lib/Split_Data@3"}


def test_the_expanded_workflow_round_trips_without_references() -> None:
    workflow = expand(PIPELINE, {"lib/Split_Data": LIBRARY_TASK})
    for text in (formats.dump_yaml(workflow), formats.dump_xml(workflow)):
        again = formats.loads(text)
        assert again.task("Split").reference is None
        assert again.task("Split").generic_information[ORIGIN_KEY] == "lib/Split_Data@3"


def test_the_xml_form_is_a_runyard_attribute_on_the_task() -> None:
    yaml_workflow = formats.loads(PIPELINE)
    xml = formats.dump_xml(yaml_workflow)
    assert 'runyard:from="lib/Split_Data"' in xml and 'xmlns:runyard="urn:runyard:workflow:1"' in xml
    from_xml = formats.loads(xml)
    assert from_xml.task("Split").reference == "lib/Split_Data"
    assert (
        formats.dump_yaml(formats.loads(formats.dump_yaml(yaml_workflow))).count("from: lib/Split_Data") == 1
    )
    expanded = expand_references(from_xml, library({"lib/Split_Data": LIBRARY_TASK}))  # type: ignore[arg-type]
    assert {v.name: v.value for v in expanded.task("Split").variables}["TRAIN_SIZE"] == "0.6"


POLLER = """
name: Poll
tasks:
  Poll:
    script: {cpython: result = 1}
    flow: {block: none, loop: {target: Poll, script: {cpython: loop = False}}}
"""


def test_a_library_task_looping_on_itself_loops_on_its_new_name() -> None:
    text = "name: Uses\ntasks:\n  Wait_For_Data:\n    from: lib/Poll\n"
    flow = expand(text, {"lib/Poll": POLLER}).task("Wait_For_Data").control_flow
    assert flow is not None and isinstance(flow.action, LoopAction)
    assert flow.action.target == "Wait_For_Data"


def test_a_revision_can_be_pinned() -> None:
    text = PIPELINE.replace("lib/Split_Data", "lib/Split_Data@1")
    workflow = expand(text, {"lib/Split_Data": LIBRARY_TASK})
    assert workflow.task("Split").generic_information[ORIGIN_KEY] == "lib/Split_Data@1"


@pytest.mark.parametrize(
    ("reference", "objects", "message"),
    [
        ("lib/Nowhere", {}, "lib/Nowhere: no such object"),
        ("lib/Pair", {"lib/Pair": TWO_TASKS}, "holds 2 tasks"),
        ("lib/Loop", {"lib/Loop": "name: Loop\ntasks:\n  T: {from: lib/Other}\n"}, "references do not nest"),
        ("lib/Bad", {"lib/Bad": "name: [unclosed"}, "is not a valid workflow"),
    ],
)
def test_unresolvable_references_are_refused_naming_the_task(
    reference: str, objects: dict[str, str], message: str
) -> None:
    with pytest.raises(WorkflowFormatError) as caught:
        expand(PIPELINE.replace("lib/Split_Data", reference), objects)
    [problem] = caught.value.problems
    assert problem.task == "Split" and message in problem.message


def test_a_malformed_reference_is_a_validation_problem_located_in_the_file() -> None:
    with pytest.raises(WorkflowFormatError) as caught:
        formats.loads(PIPELINE.replace("lib/Split_Data", "no slash here"), source="p.yaml")
    [problem] = caught.value.problems
    assert "not a catalog reference" in problem.message and problem.line == 7


def test_the_expanded_workflow_is_validated_as_a_whole() -> None:
    broken = PIPELINE.replace("depends: [Load]", "depends: [Nobody]")
    with pytest.raises(WorkflowFormatError) as caught:
        expand(broken, {"lib/Split_Data": LIBRARY_TASK})
    assert "'Nobody'" in str(caught.value)


def test_a_python_built_task_may_name_a_library_task() -> None:
    workflow = Workflow(
        name="Built",
        tasks=[Task(name="Split", reference="lib/Split_Data", variables=[Variable("TRAIN_SIZE", "0.5")])],
    )
    expanded = expand_references(workflow, library({"lib/Split_Data": LIBRARY_TASK}))  # type: ignore[arg-type]
    assert {v.name: v.value for v in expanded.task("Split").variables}["TRAIN_SIZE"] == "0.5"


def test_built_in_buckets_resolve_without_a_server() -> None:
    with pytest.raises(WorkflowFormatError, match="no such object among the built-in buckets"):
        expand_references(
            formats.loads(PIPELINE.replace("lib/Split_Data", "basic-examples/Nope")), builtin_fetch
        )
    with pytest.raises(WorkflowFormatError, match="basic-examples/Hello holds 2 tasks"):
        expand_references(
            formats.loads(PIPELINE.replace("lib/Split_Data", "basic-examples/Hello")), builtin_fetch
        )
    with pytest.raises(WorkflowFormatError, match="revisions are known only to a server"):
        expand_references(formats.loads(PIPELINE.replace("lib/Split_Data", "x/y@2")), builtin_fetch)
