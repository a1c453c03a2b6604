"""Real ProActive workflows whose scripts are Groovy and JavaScript, unchanged, through ``runyard run``:
the outcomes ProActive gives them on a Linux node."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.helpers import cli_json, tasks_by_name

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "proactive-examples"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the ProActive corpus is not at {CORPUS}")


def run(relative: str, *arguments: str) -> dict[str, dict[str, object]]:
    code, report = cli_json("run", str(CORPUS / relative), *arguments)
    assert code == 0, report
    assert report["status"] == "FINISHED"
    return tasks_by_name(report)


def test_branch_takes_the_else_branch_on_linux() -> None:
    tasks = run("Controls/resources/catalog/branch.xml")
    assert [tasks[n]["status"] for n in ("Condition", "If", "Else", "Continuation")] == [
        "FINISHED",
        "SKIPPED",
        "FINISHED",
        "FINISHED",
    ]


def test_the_javascript_loop_runs_its_block_six_times() -> None:
    tasks = run("Controls/resources/catalog/loop.xml")
    assert sorted(tasks) == sorted(
        ["Start", "Loop"] + [f"{n}#{i}" for n in ("Start", "Loop") for i in range(1, 6)]
    )
    assert tasks["Start#5"]["output"] == "Loop block start 5\n"
    assert all(task["status"] == "FINISHED" for task in tasks.values())


def test_replicate_keeps_the_integer_keys_of_a_groovy_map() -> None:
    tasks = run("Controls/resources/catalog/replicate.xml")
    assert (tasks["Process"]["result"], tasks["Process*1"]["result"]) == ("ABC", "DEF")
    assert tasks["Merge"]["status"] == "FINISHED"


def test_multi_node_task_sees_its_nodes_url() -> None:
    tasks = run("GetStarted/resources/catalog/multi_node_task.xml")
    assert tasks["MultiNodeTask"]["status"] == "FINISHED"
