"""Checking a workflow without submitting it (what the studio validates with), through the SDK."""

from __future__ import annotations

import pytest

from runyard.client import ApiError, Client
from support.server import LiveServer

CHAIN = """name: Chain
variables:
  COUNT: {value: "3", model: PA:Integer}
tasks:
  A:
    script: {cpython: result = 1}
  B:
    depends: [A]
    script: {bash: echo b}
"""


def test_a_valid_text_comes_back_unchanged_with_its_mapping_form(alice: Client) -> None:
    checked = alice.validate_workflow(CHAIN)
    assert (checked["valid"], checked["problems"], checked["format"]) == (True, [], "yaml")
    assert checked["text"] == CHAIN
    assert checked["workflow"] is not None
    assert checked["workflow"]["tasks"]["B"]["depends"] == ["A"]


def test_a_cycle_is_located_on_its_line(alice: Client) -> None:
    cyclic = CHAIN.replace("  A:\n", "  A:\n    depends: [B]\n")
    checked = alice.validate_workflow(cyclic)
    assert not checked["valid"]
    assert any("cycle" in p["message"] for p in checked["problems"]), checked["problems"]
    lines = cyclic.splitlines()
    located = [p for p in checked["problems"] if p["line"] is not None]
    assert located and all(1 <= p["line"] <= len(lines) for p in located)  # type: ignore[operator]
    assert checked["workflow"] is not None  # readable: forms and the graph still have it


def test_a_syntax_error_gives_its_line_and_no_workflow(alice: Client) -> None:
    checked = alice.validate_workflow("name: Broken\ntasks:\n  A: [\n")
    assert not checked["valid"] and checked["workflow"] is None
    assert checked["problems"][0]["line"] is not None


def test_a_mapping_is_written_as_yaml_or_xml_and_checked(alice: Client) -> None:
    mapping = alice.validate_workflow(CHAIN)["workflow"]
    assert mapping is not None
    mapping["tasks"]["C"] = {"depends": ["Nothing"], "script": {"bash": "echo c"}}
    checked = alice.validate_workflow(mapping)
    assert checked["format"] == "yaml" and "  C:" in checked["text"]
    problem = next(p for p in checked["problems"] if p["task"] == "C")
    assert "Nothing" in problem["message"]
    assert checked["text"].splitlines()[problem["line"] - 1].strip().startswith("depends")  # type: ignore[operator]
    as_xml = alice.validate_workflow(CHAIN, format="xml")
    assert as_xml["valid"] and as_xml["format"] == "xml" and as_xml["text"].lstrip().startswith("<")
    assert alice.validate_workflow(as_xml["text"], format="yaml")["workflow"] == mapping | {
        "tasks": {k: v for k, v in mapping["tasks"].items() if k != "C"}
    }


def test_a_bad_variable_value_and_a_bad_mapping_are_problems_not_errors(alice: Client) -> None:
    checked = alice.validate_workflow(CHAIN.replace('"3"', '"three"'))
    assert not checked["valid"] and checked["problems"][0]["line"] == 3
    unreadable = alice.validate_workflow({"name": "X", "tasks": {"A": {"depends": 5}}})
    assert not unreadable["valid"] and unreadable["workflow"] is None


def test_references_resolve_in_the_callers_catalog_only(alice: Client, server: LiveServer) -> None:
    library = "name: Lib\ntasks:\n  Only:\n    script: {bash: echo lib}\n"
    _, token = server.new_user()
    with Client(server.url, token) as bob:
        bob.create_bucket("bob-private-tasks")
        bob.push_object("bob-private-tasks", "Secret", library, kind="Workflow/task")
        referring = "name: Uses\ntasks:\n  T:\n    from: bob-private-tasks/Secret\n"
        assert bob.validate_workflow(referring)["valid"]
    refused = alice.validate_workflow(referring)
    assert not refused["valid"] and refused["problems"][0]["task"] == "T"
    iris = "name: Uses\ntasks:\n  Load:\n    from: machine-learning/Load_Iris_Dataset\n"
    assert alice.validate_workflow(iris)["valid"]


def test_a_deeply_nested_or_huge_draft_is_refused_or_reported_not_a_crash(alice: Client) -> None:
    nested: dict[str, object] = {}
    for _ in range(400):
        nested = {"x": nested}
    answer = alice.validate_workflow({"name": "Deep", "tasks": {"A": {"variables": {"V": nested}}}})
    assert not answer["valid"]
    with pytest.raises(ApiError) as caught:
        alice.validate_workflow("name: Big\n" + "#" * 40_000_000)
    assert caught.value.status == 413
