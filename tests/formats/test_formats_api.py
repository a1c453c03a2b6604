"""The public surface of ``runyard.formats``: names, files by extension, dot output."""

from __future__ import annotations

from pathlib import Path

import pytest

import runyard.formats
from runyard import formats
from runyard.errors import WorkflowFormatError

SMALL = "name: Small\ntasks:\n  A: {native: date}\n  B: {depends: [A], native: date}\n"


def test_public_names_are_pinned() -> None:
    assert sorted(runyard.formats.__all__) == [
        "Format",
        "dump",
        "dump_dot",
        "dump_xml",
        "dump_yaml",
        "from_mapping",
        "load",
        "loads",
        "to_mapping",
        "validate",
    ]


@pytest.mark.parametrize("name", ["w.yaml", "w.yml", "w.xml"])
def test_dump_and_load_by_extension(tmp_path: Path, name: str) -> None:
    workflow = formats.loads(SMALL)
    formats.dump(workflow, tmp_path / name)
    assert formats.load(tmp_path / name) == workflow


def test_content_decides_without_a_known_extension(tmp_path: Path) -> None:
    workflow = formats.loads(SMALL)
    (tmp_path / "job.txt").write_text(formats.dump_xml(workflow))
    (tmp_path / "job.wf").write_text(SMALL)
    assert formats.load(tmp_path / "job.txt") == formats.load(tmp_path / "job.wf") == workflow


def test_unreadable_file_and_unknown_dump_extension(tmp_path: Path) -> None:
    with pytest.raises(WorkflowFormatError, match="cannot read the file"):
        formats.load(tmp_path / "missing.xml")
    with pytest.raises(WorkflowFormatError, match="cannot tell the format"):
        formats.dump(formats.loads(SMALL), tmp_path / "w.json")


def test_from_mapping_reports_paths() -> None:
    with pytest.raises(WorkflowFormatError) as caught:
        formats.from_mapping({"name": "M", "tasks": {"A": {"native": ["x"]}}})
    assert str(caught.value) == "tasks.A.native: expected a text value, got a list"


def test_validate_locates_problems_in_the_source() -> None:
    workflow = formats.loads(SMALL, source="s.yaml")
    workflow.task("B").depends = ["Nope"]
    assert [str(p) for p in formats.validate(workflow)] == [
        "s.yaml:4: task 'B', depends: depends on 'Nope', which is not a task of this workflow"
    ]


def test_dot_shows_dependencies_and_flow_links() -> None:
    text = (
        "name: Dot\ntasks:\n"
        "  T: {native: date, flow: {if: {target: A, else: B, script: {cpython: branch = 'if'}}}}\n"
        "  A: {native: date}\n  B: {native: date}\n"
        '  C: {native: date, depends: [T], description: has "quotes"}\n'
    )
    dot = formats.dump_dot(formats.loads(text))
    assert dot.startswith('digraph "Dot" {')
    assert '"T" -> "C";' in dot
    assert (
        '"T" -> "A" [label="if", style=dashed];' in dot and '"T" -> "B" [label="else", style=dashed];' in dot
    )
