"""Size limits of workflow documents (``runyard.formats.limits``): one problem naming the limit, at once."""

from __future__ import annotations

import time

import pytest
import yaml

from runyard import formats
from runyard.errors import WorkflowFormatError
from runyard.formats import limits, yaml_format

TASK = "tasks:\n  A: {script: {cpython: pass}}\n"
XML_TASK = (
    '<task name="A"><scriptExecutable><script><code language="cpython">pass</code></script>'
    "</scriptExecutable></task>"
)


def xml_job(metadata: str = "") -> str:
    return (
        f'<job xmlns="urn:proactive:jobdescriptor:3.14" name="Job"><taskFlow>{XML_TASK}</taskFlow>'
        f"<metadata>{metadata}</metadata></job>"
    )


def refusal(text: str) -> str:
    started = time.monotonic()
    with pytest.raises(WorkflowFormatError) as refused:
        formats.loads(text)
    assert time.monotonic() - started < 5
    (problem,) = refused.value.problems
    return problem.message


@pytest.mark.parametrize("levels", [limits.MAX_DEPTH + 1, 30_000])
def test_yaml_nested_too_deep(levels: int) -> None:
    nested = "[" * levels + "]" * levels
    assert "limit of 100 levels" in refusal("name: Deep\n" + TASK + "metadata: " + nested)


def test_yaml_nested_up_to_the_limit_is_read() -> None:
    levels = limits.MAX_DEPTH - 1  # the document's mapping is the first level
    _, problems = yaml_format.read_yaml("name: Deep\n" + TASK + "tags: " + "[" * levels + "]" * levels)
    assert [p.message for p in problems] == ["tags.0: expected a text value, got a list"]


def test_yaml_alias_bomb() -> None:
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    bomb += [f"{n}: &{n} [{','.join(['*' + p] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)]
    assert "nodes (aliases expanded) than the limit of 200000" in refusal("\n".join(bomb))


def test_yaml_aliases_within_the_limit_read_as_copies() -> None:
    workflow = formats.loads("name: Alias\ntasks:\n  A: &task {script: {cpython: pass}}\n  B: *task\n")
    assert [t.name for t in workflow.tasks] == ["A", "B"]


def test_a_document_over_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_BYTES", 1000)
    assert "over the limit of 1000 bytes" in refusal("name: Big\n" + TASK + "description: " + "x" * 1000)
    assert "over the limit of 1000 bytes" in refusal(xml_job("x" * 1000))


def test_xml_too_deep_or_too_many_elements() -> None:
    assert "limit of 100 levels" in refusal(xml_job("<x>" * 150 + "</x>" * 150))
    assert "limit of 100 levels" in refusal(xml_job("<x>" * 30_000 + "</x>" * 30_000))
    assert "elements than the limit" in refusal(xml_job("<x/>" * limits.MAX_NODES))


def test_the_pure_python_parser_has_the_same_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_format, "_EventLoader", yaml.SafeLoader)
    assert "limit of 100 levels" in refusal("a: " + "[" * 200 + "]" * 200)
    assert formats.loads("name: Pure\n" + TASK).name == "Pure"
