"""The static shape of a workflow: effective dependencies, block ends, block members."""

from __future__ import annotations

from runyard.model import Block
from runyard.scheduler.graph import Graph

from .helpers import nested_flow


def nested() -> Graph:
    return Graph(nested_flow())


def test_if_adds_the_implicit_dependencies() -> None:
    graph = nested()
    assert graph.depends["Yes"] == ["Cond"]
    assert graph.depends["No"] == ["Cond"]
    assert graph.depends["Join"] == ["Yes2", "No"]
    assert graph.depends["Inner"] == ["Join"]
    assert graph.children("Cond") == ["Yes", "No"]
    assert graph.children("Yes2") == ["Join"]


def test_matching_end_skips_nested_blocks_and_follows_continuations() -> None:
    graph = nested()
    assert graph.matching_end("Outer") == "OuterEnd"
    assert graph.matching_end("Yes") == "Yes2"
    assert graph.matching_end("Inner") == "InnerEnd"
    assert graph.matching_end("No") == "No"  # not a block: the task alone


def test_block_members_include_branches_and_nested_blocks() -> None:
    graph = nested()
    outer = {"Outer", "Cond", "Yes", "Yes2", "No", "Join", "Inner", "InnerEnd", "OuterEnd"}
    assert graph.members("Outer", "OuterEnd") == outer
    assert graph.replicated_block("Split") == outer
    assert graph.branch_block("Yes") == {"Yes", "Yes2"}
    assert graph.branch_block("No") == {"No"}
    assert graph.members("Inner", "InnerEnd") == {"Inner", "InnerEnd"}


def test_flow_actions_by_kind() -> None:
    graph = nested()
    assert graph.replicate_action("Split") is not None
    assert graph.if_action("Cond") is not None and graph.if_action("Split") is None
    assert graph.loop_action("InnerEnd") is not None and graph.loop_action("Yes") is None
    assert graph.block("Merge") is Block.NONE
