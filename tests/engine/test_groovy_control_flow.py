"""Groovy ports of the control-flow examples (tests/engine/test_examples.py) and of the error
policies: through ``runyard run --json``, with the cpython tests' outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.helpers import cli_json, platform, tasks_by_name
from runyard.model import JobStatus, Script, ScriptExecutable, Task, Workflow

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<job xmlns="urn:proactive:jobdescriptor:3.14" name="{name}"{attributes}>'
)


def workflow(tmp_path: Path, name: str, body: str, attributes: str = "") -> str:
    path = tmp_path / f"{name}.xml"
    path.write_text(HEADER.format(name=name, attributes=attributes) + body + "</job>\n")
    return str(path)


def groovy(code: str) -> str:
    return f'<script><code language="groovy"><![CDATA[{code}]]></code></script>'


def task(name: str, code: str, *depends: str, extra: str = "", attributes: str = "") -> str:
    refs = "".join(f'<task ref="{d}"/>' for d in depends)
    depends_xml = f"<depends>{refs}</depends>" if depends else ""
    return (
        f'<task name="{name}"{attributes}>{depends_xml}<scriptExecutable>{groovy(code)}</scriptExecutable>'
        f"{extra}</task>"
    )


REPLICATE = (
    "<taskFlow>"
    + task(
        "Split",
        'println "split"\nresult = ["ABC", "DEF"]',
        extra=f"<controlFlow><replicate>{groovy('runs = result.size()')}</replicate></controlFlow>",
    )
    + task(
        "Process",
        "def parts = results[0].value()\n"
        "result = parts[Integer.parseInt(variables.get('PA_TASK_REPLICATION').toString())]",
        "Split",
    )
    + task("Merge", "result = results.collect { it.value() }\nprintln result", "Process")
    + "</taskFlow>"
)

BRANCH = (
    '<variables><variable name="OS_NAME" value=""/></variables><taskFlow>'
    + task(
        "Condition",
        'println "I will run a script to select a branch"',
        extra='<controlFlow><if target="If" else="Else" continuation="Continuation">'
        + groovy(
            "def os = variables.get('OS_NAME') ?: System.getProperty('os.name')\n"
            "branch = os.toLowerCase().startsWith('win') ? 'if' : 'else'"
        )
        + "</if></controlFlow>",
    )
    + task("If", 'result = "if"')
    + task("Else", 'result = "else"')
    + task("Continuation", 'result = "after " + results[0].value()')
    + "</taskFlow>"
)

LOOP = (
    '<variables><variable name="ITERATIONS" value="5"/></variables><taskFlow>'
    + task(
        "Start",
        'println "Loop block start " + variables.get("PA_TASK_ITERATION")',
        extra='<controlFlow block="start"/>',
    )
    + task(
        "Loop",
        'println "Loop block end " + variables.get("PA_TASK_ITERATION")\n'
        'result = variables.get("PA_TASK_ITERATION")',
        "Start",
        extra='<controlFlow block="end"><loop target="Start">'
        + groovy('loop = variables.get("PA_TASK_ITERATION") < Integer.parseInt(variables.get("ITERATIONS"))')
        + "</loop></controlFlow>",
    )
    + "</taskFlow>"
)


def test_replicate_splits_processes_and_merges_in_replica_order(tmp_path: Path) -> None:
    code, report = cli_json("run", workflow(tmp_path, "Replicate", REPLICATE))
    assert code == 0, report
    assert report["status"] == "FINISHED"
    tasks = tasks_by_name(report)
    assert sorted(tasks) == ["Merge", "Process", "Process*1", "Split"]
    assert tasks["Process"]["result"] == "ABC" and tasks["Process"]["replication"] == 0
    assert tasks["Process*1"]["result"] == "DEF" and tasks["Process*1"]["replication"] == 1
    assert tasks["Merge"]["result"] == ["ABC", "DEF"]
    assert "[ABC, DEF]" in tasks["Merge"]["output"]
    assert tasks["Process*1"]["variables"]["PA_TASK_REPLICATION"] == 1
    assert tasks["Merge"]["variables"]["PA_TASK_REPLICATION"] == 0


@pytest.mark.parametrize(
    ("os_name", "taken", "skipped"), [("Windows", "If", "Else"), ("Linux", "Else", "If")]
)
def test_branch_runs_one_branch_then_the_continuation(
    tmp_path: Path, os_name: str, taken: str, skipped: str
) -> None:
    code, report = cli_json("run", workflow(tmp_path, "Branch", BRANCH), "--var", f"OS_NAME={os_name}")
    assert code == 0, report
    tasks = tasks_by_name(report)
    assert tasks[taken]["status"] == "FINISHED"
    assert tasks[skipped]["status"] == "SKIPPED" and tasks[skipped]["executions"] == 0
    assert tasks["Continuation"]["status"] == "FINISHED"
    assert tasks["Continuation"]["result"] == f"after {taken.lower()}"
    assert tasks["Continuation"]["variables"]["OS_NAME"] == os_name


def test_loop_repeats_the_block_while_the_script_says_so(tmp_path: Path) -> None:
    code, report = cli_json("run", workflow(tmp_path, "Loop", LOOP), "--var", "ITERATIONS=3")
    assert code == 0, report
    names = [t["name"] for t in report["tasks"]]
    assert names == ["Start", "Loop", "Start#1", "Loop#1", "Start#2", "Loop#2", "Start#3", "Loop#3"]
    tasks = tasks_by_name(report)
    assert [tasks[f"Loop{s}"]["result"] for s in ("", "#1", "#2", "#3")] == [0, 1, 2, 3]
    assert tasks["Start#3"]["output"] == "Loop block start 3\n"
    assert tasks["Loop#3"]["variables"]["ITERATIONS"] == "3"


def groovy_task(name: str, code: str, *depends: str, **fields: Any) -> Task:
    return Task(
        name=name, executable=ScriptExecutable(Script("groovy", code=code)), depends=list(depends), **fields
    )


FAIL = 'throw new RuntimeException("boom")'


def test_continue_job_execution_runs_successors_of_a_faulty_task(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Continue",
        on_task_error="continueJobExecution",
        tasks=[groovy_task("A", FAIL), groovy_task("B", "result = results.size()", "A")],
    )
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        assert p.wait(job, 30) is JobStatus.FINISHED
        tasks = tasks_by_name(p.report(job))
    assert tasks["A"]["status"] == "FAULTY"
    assert "java.lang.RuntimeException: boom" in tasks["A"]["error"]
    assert tasks["B"]["status"] == "FINISHED" and tasks["B"]["result"] == 1


def test_retries_up_to_max_number_of_execution(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    code = f"""
def p = new File('{counter}')
int n = p.exists() ? Integer.parseInt(p.text) + 1 : 1
p.text = String.valueOf(n)
if (n < 3) throw new RuntimeException("attempt $n fails")
result = n
"""
    workflow = Workflow(name="Retry", max_number_of_execution=3, tasks=[groovy_task("A", code)])
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        assert p.wait(job, 30) is JobStatus.FINISHED
        a = tasks_by_name(p.report(job))["A"]
    assert (a["status"], a["result"], a["executions"]) == ("FINISHED", 3, 3)


def test_cancel_job_policy_aborts_running_tasks_and_starts_no_other(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Cancel",
        on_task_error="cancelJob",
        tasks=[
            groovy_task("Slow", "Thread.sleep(30000)"),
            groovy_task("Fails", "Thread.sleep(500); System.exit(3)"),
            groovy_task("After", "result = 1", "Fails"),
        ],
    )
    with platform(tmp_path, nodes=2) as p:
        job = p.submit(workflow)
        assert p.wait(job, 30) is JobStatus.CANCELED
        tasks = tasks_by_name(p.report(job))
    assert tasks["Fails"]["status"] == "FAULTY" and "System.exit(3)" in tasks["Fails"]["error"]
    assert tasks["Slow"]["status"] == "ABORTED"
    assert tasks["After"]["status"] == "NOT_STARTED"
