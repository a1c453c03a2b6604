"""Bugs found while documenting the engine, each pinned by the behaviour a user sees."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.helpers import (
    EXAMPLES,
    bash_task,
    cli,
    cli_json,
    fails_until,
    platform,
    python_task,
    tasks_by_name,
)
from runyard.errors import NodeError
from runyard.formats import dump_yaml
from runyard.model import JobStatus, Script, SelectionScript, Workflow


def wait_until(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.05)


def test_killing_a_task_while_every_node_is_busy_lets_its_successors_run(tmp_path: Path) -> None:
    workflow = Workflow(
        name="KillBusy",
        tasks=[
            python_task("Long", "import time; time.sleep(60)"),
            python_task("Next", "result = 'ran'", "Long"),
        ],
    )
    with platform(tmp_path, nodes=1) as p:
        job = p.submit(workflow)
        wait_until(lambda: tasks_by_name(p.report(job))["Long"]["status"] == "RUNNING")
        p.kill_task(job, "Long")
        assert p.wait(job, 20) is JobStatus.FINISHED
        assert tasks_by_name(p.report(job))["Next"]["result"] == "ran"


def test_a_task_lost_with_its_node_runs_again_once_another_node_frees_up(tmp_path: Path) -> None:
    marker = tmp_path / "victim"
    workflow = Workflow(
        name="LostWhileBusy",
        tasks=[
            python_task("Busy", "import time; time.sleep(2)"),
            python_task(
                "Victim",
                f"open({str(marker)!r}, 'a').write(variables.get('PA_NODE_NAME') + ' ')\n"
                "import time; time.sleep(1); result = 'ok'",
            ),
        ],
    )
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        # The node's name once written whole: the file exists as soon as it is opened.
        wait_until(lambda: marker.exists() and marker.read_text().endswith(" "))
        os.kill(p.nodes.agent_pid(marker.read_text().strip()), signal.SIGKILL)
        assert p.wait(job, 30) is JobStatus.FINISHED
        victim = tasks_by_name(p.report(job))["Victim"]
    assert (victim["result"], victim["executions"]) == ("ok", 2)


def test_a_relative_data_dir_works_for_bash_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bash.yaml"
    path.write_text(dump_yaml(Workflow(name="Bash", tasks=[bash_task("B", "echo hi")])))
    code, report = cli_json("run", str(path), "--data-dir", "relative/data")
    assert code == 0
    assert tasks_by_name(report)["B"]["output"] == "hi\n"


def test_resume_of_an_unknown_job_is_a_clear_error(tmp_path: Path) -> None:
    code, _ = cli_json("run", str(EXAMPLES / "hello.yaml"), "--data-dir", str(tmp_path))
    assert code == 0
    code, out, err = cli("resume", "--data-dir", str(tmp_path), "7")
    assert code == 2 and "no job 7" in err and not out


def test_resume_json_without_a_job_prints_only_json(tmp_path: Path) -> None:
    assert cli_json("run", str(EXAMPLES / "hello.yaml"), "--data-dir", str(tmp_path))[0] == 0
    code, out, _ = cli("resume", "--data-dir", str(tmp_path), "--json")
    assert code == 0
    assert json.loads(out) == []


def test_convert_writes_dot_and_reports_unwritable_targets(tmp_path: Path) -> None:
    code, _, _ = cli("convert", str(EXAMPLES / "branch.xml"), str(tmp_path / "branch.dot"))
    assert code == 0
    assert (tmp_path / "branch.dot").read_text().startswith('digraph "Branch"')
    code, _, err = cli("convert", str(EXAMPLES / "branch.xml"), str(tmp_path / "missing" / "b.yaml"))
    assert code == 2 and "cannot write" in err


def test_run_stops_on_a_suspended_task_and_resume_restarts_it(tmp_path: Path) -> None:
    marker = tmp_path / "fixed"
    workflow = Workflow(
        name="Suspended",
        on_task_error="suspendTask",
        tasks=[
            python_task("A", fails_until(marker)),
            python_task("B", "result = 'after'", "A"),
        ],
    )
    path = tmp_path / "suspended.yaml"
    path.write_text(dump_yaml(workflow))
    data = tmp_path / "data"
    code, _, err = cli("run", str(path), "--data-dir", str(data))
    assert code == 1
    assert "job 1 is IN_ERROR" in err and "--restart-in-error" in err
    marker.touch()
    code, report = cli_json("resume", "--data-dir", str(data), "1", "--restart-in-error")
    assert code == 0
    assert tasks_by_name(report)["B"]["result"] == "after"


def test_run_stops_on_a_paused_job_and_resume_goes_on(tmp_path: Path) -> None:
    marker = tmp_path / "fixed"
    workflow = Workflow(
        name="PauseOnError",
        on_task_error="pauseJob",
        tasks=[
            python_task("A", fails_until(marker)),
            python_task("B", "pass", "A"),
        ],
    )
    path = tmp_path / "paused.yaml"
    path.write_text(dump_yaml(workflow))
    code, _, err = cli("run", str(path))
    assert code == 1 and "is PAUSED" in err and "--data-dir" in err


def test_tokens_for_a_node_that_does_not_exist_are_refused(tmp_path: Path) -> None:
    code, _, err = cli("run", str(EXAMPLES / "hello.yaml"), "--nodes", "1", "--node-token", "local-2=T")
    assert code == 2 and "unknown nodes local-2" in err
    with pytest.raises(NodeError, match="local-3"), platform(tmp_path, node_tokens={"local-3": ("T",)}):
        pass


def test_selection_scripts_see_the_tokens_of_their_node(tmp_path: Path) -> None:
    wants_gpu = SelectionScript(Script("cpython", code="selected = 'gpu' in nodeTokens"))
    task = python_task(
        "A",
        "result = variables.get('PA_NODE_NAME')",
        selection=[wants_gpu],
        generic_information={"NODE_ACCESS_TOKEN": "gpu"},
    )
    with platform(tmp_path, node_tokens={"local-2": ("gpu",)}) as p:
        job = p.submit(Workflow(name="SeeTokens", tasks=[task]))
        assert p.wait(job, 20) is JobStatus.FINISHED
        assert tasks_by_name(p.report(job))["A"]["result"] == "local-2"
