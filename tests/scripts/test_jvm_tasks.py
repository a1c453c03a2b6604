"""Groovy tasks on real nodes (the node agent's forks and fork=false worker): the JVM is kept warm for
the scope's later tasks, stops with a killed task, and the next task gets a fresh one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from engine.helpers import platform, python_task, tasks_by_name
from runyard.model import JobStatus, Script, ScriptExecutable, SelectionScript, Task, Workflow
from runyard.platform import Platform

#: What a task answers about the JVM it ran in: its pid, and whether the JVM of ``results[0]`` lives.
#: (Not ``ProcessHandle.current()``: Debian's Groovy 2.4 cannot call static methods of interfaces.)
JVM_PID = "result = new File('/proc/self').canonicalFile.name as long"
PREVIOUS_ALIVE = (
    "def stat = new File('/proc/' + results[0].value() + '/stat')\n"
    "def alive = { stat.exists() && !(stat.text.split(' ')[2] in ['Z', 'X']) }  // a zombie is gone\n"
    "for (int i = 0; i < 50 && alive(); i++) Thread.sleep(100)  // a JVM takes a moment to go\n"
    "result = [new File('/proc/self').canonicalFile.name as long, alive()]"
)


def groovy_task(name: str, code: str, *depends: str, **fields: Any) -> Task:
    return Task(
        name=name, executable=ScriptExecutable(Script("groovy", code=code)), depends=list(depends), **fields
    )


def wait_running(p: Platform, job: int, task: str) -> None:
    deadline = time.monotonic() + 30
    while tasks_by_name(p.report(job))[task]["status"] != "RUNNING":
        assert time.monotonic() < deadline, p.report(job)
        time.sleep(0.05)


def test_the_jvm_stays_warm_for_the_next_tasks_fork_or_not(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Warm",
        tasks=[
            groovy_task("A", JVM_PID),
            groovy_task("B", PREVIOUS_ALIVE, "A"),
            groovy_task("C", JVM_PID, "B", fork=False),
            groovy_task("D", JVM_PID, "C", fork=False),
        ],
    )
    with platform(tmp_path, nodes=1) as p:
        job = p.submit(workflow)
        assert p.wait(job, 60) is JobStatus.FINISHED
        tasks = tasks_by_name(p.report(job))
    first = tasks["A"]["result"]
    assert tasks["B"]["result"] == [first, True]  # the same JVM
    assert tasks["C"]["result"] == tasks["D"]["result"]  # the worker's JVM, kept for its next task


def test_walltime_stops_a_busy_script_at_once_and_the_next_task_gets_a_new_jvm(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Walltime",
        on_task_error="continueJobExecution",
        tasks=[
            groovy_task("A", JVM_PID),
            groovy_task("Busy", "result = results[0].value()\nwhile (true) {}", "A", walltime="1"),
            groovy_task("After", PREVIOUS_ALIVE, "A", "Busy"),
        ],
    )
    with platform(tmp_path, nodes=1) as p:
        start = time.monotonic()
        job = p.submit(workflow)
        assert p.wait(job, 60) is JobStatus.FINISHED
        elapsed = time.monotonic() - start
        tasks = tasks_by_name(p.report(job))
    assert tasks["Busy"]["status"] == "FAULTY" and "walltime" in tasks["Busy"]["error"]
    assert elapsed < 15
    assert tasks["After"]["status"] == "FINISHED", tasks["After"]["error"]
    pid, previous_alive = tasks["After"]["result"]
    assert not previous_alive and pid != tasks["A"]["result"]


def test_a_killed_task_stops_its_script_and_the_next_task_runs(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Kill",
        tasks=[
            groovy_task("A", JVM_PID),
            groovy_task("Long", "Thread.sleep(60000)", "A"),
            groovy_task("Next", PREVIOUS_ALIVE, "A", "Long"),
        ],
    )
    with platform(tmp_path, nodes=1) as p:
        job = p.submit(workflow)
        wait_running(p, job, "Long")
        p.kill_task(job, "Long")
        assert p.wait(job, 30) is JobStatus.FINISHED
        tasks = tasks_by_name(p.report(job))
    assert (tasks["Long"]["status"], tasks["Next"]["status"]) == ("ABORTED", "FINISHED")
    pid, previous_alive = tasks["Next"]["result"]
    assert not previous_alive and pid != tasks["A"]["result"]


def test_every_script_position_and_the_log_order(tmp_path: Path) -> None:
    groovy = "groovy"
    task = Task(
        name="All",
        pre=Script(groovy, code="println 'pre'\nvariables.put('FROM_PRE', 1)"),
        executable=ScriptExecutable(
            Script("cpython", code="print('main')\nresult = variables['FROM_PRE'] + 1")
        ),
        post=Script(
            groovy, code="println 'post'\nresult = result * 10\nresultMetadata.put('file.name', 'x')"
        ),
        cleaning=Script(groovy, code="println 'clean ' + variables.get('PA_TASK_SUCCESS')"),
    )
    chosen = SelectionScript(Script(groovy, code="selected = nodename.startsWith('local')"))
    refused = SelectionScript(Script(groovy, code="selected = false"))
    selected = groovy_task("Selected", "result = results[0].value()", "All", selection=[chosen])
    never = groovy_task("Never", "result = 1", selection=[refused])
    with platform(tmp_path, nodes=1) as p:
        job = p.submit(Workflow(name="Positions", tasks=[task, selected]))
        assert p.wait(job, 60) is JobStatus.FINISHED
        tasks = tasks_by_name(p.report(job))
        refused_job = p.submit(Workflow(name="Refused", tasks=[never]))
        assert p.wait(refused_job, 2) in (JobStatus.PENDING, JobStatus.STALLED)
        assert tasks_by_name(p.report(refused_job))["Never"]["executions"] == 0
        p.kill_job(refused_job)
    assert tasks["All"]["result"] == 20
    assert tasks["All"]["result_metadata"] == {"file.name": "x"}
    assert tasks["All"]["output"] == "pre\nmain\npost\nclean true\n"
    assert tasks["Selected"]["result"] == 20


def test_a_faulty_groovy_task_does_not_stop_a_python_one(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Mixed",
        on_task_error="continueJobExecution",
        tasks=[
            groovy_task("Bad", "resultMetadata.put('k', 'v')\nthrow new IllegalStateException('bad')"),
            python_task(
                "Good", "result = len(results)\nresultMetadata.put('content.type', 'text/plain')", "Bad"
            ),
        ],
    )
    with platform(tmp_path, nodes=1) as p:
        job = p.submit(workflow)
        assert p.wait(job, 60) is JobStatus.FINISHED
        tasks = tasks_by_name(p.report(job))
    assert tasks["Bad"]["status"] == "FAULTY" and "main script of task Bad" in tasks["Bad"]["error"]
    assert tasks["Good"]["result"] == 1
    assert tasks["Good"]["result_metadata"] == {"content.type": "text/plain"}
    assert tasks["Bad"]["result_metadata"] == {}  # kept with a result only
