"""The cpython ports of ProActive's control-flow templates, run through ``runyard run --json``.

Expected names, statuses and results are what ProActive produces for the original templates.
"""

from __future__ import annotations

import pytest

from engine.helpers import EXAMPLES, cli, cli_json, tasks_by_name


def test_replicate_splits_processes_and_merges_in_replica_order() -> None:
    code, report = cli_json("run", str(EXAMPLES / "replicate.xml"))
    assert code == 0
    assert report["status"] == "FINISHED"
    tasks = tasks_by_name(report)
    assert sorted(tasks) == ["Merge", "Process", "Process*1", "Split"]
    assert tasks["Process"]["result"] == "ABC" and tasks["Process"]["replication"] == 0
    assert tasks["Process*1"]["result"] == "DEF" and tasks["Process*1"]["replication"] == 1
    assert tasks["Merge"]["result"] == ["ABC", "DEF"]
    assert "['ABC', 'DEF']" in tasks["Merge"]["output"]
    assert all(t["status"] == "FINISHED" and t["executions"] == 1 for t in tasks.values())
    # what each replica propagates: its own system variables, with its replication index
    assert tasks["Process*1"]["variables"]["PA_TASK_REPLICATION"] == 1
    assert tasks["Process*1"]["variables"]["PA_TASK_NAME"] == "Process*1"
    assert tasks["Merge"]["variables"]["PA_TASK_REPLICATION"] == 0


@pytest.mark.parametrize(
    ("os_name", "taken", "skipped"), [("Windows", "If", "Else"), ("Linux", "Else", "If")]
)
def test_branch_runs_one_branch_then_the_continuation(os_name: str, taken: str, skipped: str) -> None:
    code, report = cli_json("run", str(EXAMPLES / "branch.xml"), "--var", f"OS_NAME={os_name}")
    assert code == 0
    tasks = tasks_by_name(report)
    assert tasks[taken]["status"] == "FINISHED"
    assert tasks[skipped]["status"] == "SKIPPED" and tasks[skipped]["executions"] == 0
    assert tasks["Continuation"]["status"] == "FINISHED"
    assert tasks["Continuation"]["result"] == f"after {taken.lower()}"
    assert tasks["Continuation"]["variables"]["OS_NAME"] == os_name  # job variables propagate


def test_loop_repeats_the_block_while_the_script_says_so() -> None:
    code, report = cli_json("run", str(EXAMPLES / "loop.xml"), "--var", "ITERATIONS=3")
    assert code == 0
    names = [t["name"] for t in report["tasks"]]
    assert names == ["Start", "Loop", "Start#1", "Loop#1", "Start#2", "Loop#2", "Start#3", "Loop#3"]
    tasks = tasks_by_name(report)
    assert [tasks[f"Loop{s}"]["result"] for s in ("", "#1", "#2", "#3")] == [0, 1, 2, 3]
    assert tasks["Start#2"]["iteration"] == 2
    assert tasks["Start#3"]["output"] == "Loop block start 3\n"
    assert tasks["Loop#3"]["variables"]["PA_TASK_ITERATION"] == 3
    assert tasks["Loop#3"]["variables"]["ITERATIONS"] == "3"  # the --var override, propagated to the end


def test_native_task_runs_a_command_with_a_variable_argument() -> None:
    code, report = cli_json("run", str(EXAMPLES / "native_task_linux.xml"), "--var", "NUMBER_OF_PING=2")
    assert code == 0
    linux = tasks_by_name(report)["Linux"]
    assert linux["status"] == "FINISHED"
    assert linux["result"] == 0
    assert "2 packets transmitted" in linux["output"]


def test_hello_shows_status_and_output_live_and_exits_zero() -> None:
    code, out, _ = cli("run", str(EXAMPLES / "hello.yaml"))
    assert code == 0
    assert "Greet on local-" in out and "RUNNING" in out
    assert "hello world" in out and "HELLO WORLD" in out
    assert "FINISHED" in out


def test_json_prints_one_document_and_nothing_else() -> None:
    code, out, _ = cli("run", str(EXAMPLES / "hello.yaml"), "--var", "WHO=you", "--json")
    assert code == 0
    assert out.count("\n") == 1 and out.startswith("{")


def test_nodes_option_starts_that_many_nodes() -> None:
    code, report = cli_json("run", str(EXAMPLES / "replicate.xml"), "--nodes", "1")
    assert code == 0
    assert {t["node"] for t in report["tasks"]} == {"local-1"}
