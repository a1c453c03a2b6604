"""Faults: the runner killed with SIGKILL then resumed; a node agent killed in the middle of a task."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.helpers import platform, python_task, runyard_process, tasks_by_name
from runyard.errors import SchedulerError
from runyard.formats import dump_xml
from runyard.model import JobStatus, Workflow

CHAIN = Workflow(
    name="Chain",
    tasks=[
        python_task("First", "result = 'first'"),
        python_task("Slow", "import time; time.sleep(3); result = results[0].value() + '+slow'", "First"),
        python_task("Last", "result = results[0].value() + '+last'", "Slow"),
    ],
)


def task_status(database_url: str, name: str) -> str | None:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(sa.text("SELECT status FROM tasks WHERE name = :n"), {"n": name}).first()
    except sa.exc.SQLAlchemyError:  # no database or tables yet
        return None
    finally:
        engine.dispose()
    return None if row is None else str(row[0])


def test_runner_killed_mid_job_then_resumed_loses_no_result(tmp_path: Path, database_url: str) -> None:
    workflow = tmp_path / "chain.xml"
    workflow.write_text(dump_xml(CHAIN))
    data_dir = tmp_path / "data"
    store = ("--data-dir", str(data_dir), "--database-url", database_url)
    runner = runyard_process("run", str(workflow), *store)
    deadline = time.monotonic() + 30
    while task_status(database_url, "Slow") != "RUNNING":
        assert time.monotonic() < deadline and runner.poll() is None, "Slow never started"
        time.sleep(0.05)
    runner.send_signal(signal.SIGKILL)
    runner.communicate()

    resumed = runyard_process("resume", *store, "1", "--json")
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    tasks = tasks_by_name(json.loads(out))
    assert tasks["First"]["executions"] == 1  # finished before the kill: not run again
    assert tasks["Slow"]["executions"] == 2  # lost with the runner, run again
    assert tasks["Last"]["result"] == "first+slow+last"
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            outcomes = connection.execute(
                sa.text(
                    "SELECT e.outcome, e.error FROM task_executions e JOIN tasks t"
                    " ON t.job_id = e.job_id AND t.number = e.task_number WHERE t.name = 'Slow'"
                    " ORDER BY e.execution"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in outcomes] == [
        ("node_lost", "lost with the previous runner"),
        ("finished", None),
    ]


def test_resume_without_unfinished_jobs_says_so(tmp_path: Path) -> None:
    with platform(tmp_path) as p:
        p.wait(p.submit(Workflow(name="Quick", tasks=[python_task("A", "pass")])), 30)
    code = runyard_process("resume", "--data-dir", str(tmp_path))
    _, err = code.communicate(timeout=60)
    assert code.returncode == 0
    assert "no unfinished job" in err


def test_node_agent_killed_mid_task_reruns_it_on_another_node(tmp_path: Path, database_url: str) -> None:
    marker = tmp_path / "started"
    code = (
        f"open({str(marker)!r}, 'a').write(variables.get('PA_NODE_NAME') + '\\n')\n"
        "import time; time.sleep(2); result = 'done'"
    )
    workflow = Workflow(name="NodeDies", tasks=[python_task("Work", code)])
    with platform(tmp_path, database_url) as p:
        job = p.submit(workflow)
        deadline = time.monotonic() + 20
        while not (marker.exists() and marker.read_text().endswith("\n")):  # created before it is written
            assert time.monotonic() < deadline
            time.sleep(0.05)
        victim = marker.read_text().strip()
        os.kill(p.nodes.agent_pid(victim), signal.SIGKILL)
        assert p.wait(job, 30) is JobStatus.FINISHED
        work = tasks_by_name(p.report(job))["Work"]
    assert (work["status"], work["result"], work["executions"]) == ("FINISHED", "done", 2)
    nodes = marker.read_text().split()
    assert nodes[0] == victim and nodes[1] != victim


def test_ctrl_c_stops_run_with_a_hint_and_resume_finishes_the_job(tmp_path: Path) -> None:
    workflow = tmp_path / "chain.xml"
    workflow.write_text(dump_xml(CHAIN))
    data_dir = tmp_path / "data"
    database_url = f"sqlite:///{data_dir / 'runyard.db'}"
    # As from a terminal: a test run started in the background (`cmd &` in a script) ignores SIGINT, and
    # Python leaves an inherited SIG_IGN alone, so the child would never see the Ctrl-C.
    runner = runyard_process(
        "run",
        str(workflow),
        "--data-dir",
        str(data_dir),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 30
    while task_status(database_url, "Slow") != "RUNNING":
        assert time.monotonic() < deadline and runner.poll() is None, "Slow never started"
        time.sleep(0.05)
    runner.send_signal(signal.SIGINT)
    _, err = runner.communicate(timeout=30)
    assert runner.returncode == 130
    assert f"interrupted. Go on with: runyard resume --data-dir {data_dir}" in err
    assert task_status(database_url, "Last") == "PENDING"  # nothing ran past the interruption
    resumed = runyard_process("resume", "--data-dir", str(data_dir), "1", "--json")
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    assert tasks_by_name(json.loads(out))["Last"]["result"] == "first+slow+last"


def test_a_store_failure_stops_the_scheduler_loudly_and_resume_recovers(tmp_path: Path) -> None:
    workflow = Workflow(name="StoreFails", tasks=[python_task("A", "import time; time.sleep(1); result = 1")])
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        saboteur = sa.create_engine(f"sqlite:///{tmp_path / 'runyard.db'}")
        with saboteur.begin() as connection:  # the next write of the scheduler fails
            connection.execute(sa.text("ALTER TABLE task_executions RENAME TO hidden"))
        with pytest.raises(SchedulerError, match="stopped on an unexpected error"):
            p.wait(job, 30)
        with pytest.raises(SchedulerError):
            p.submit(workflow)
        with saboteur.begin() as connection:
            connection.execute(sa.text("ALTER TABLE hidden RENAME TO task_executions"))
        saboteur.dispose()
    with platform(tmp_path) as p:  # a restart resumes the job from what was stored
        assert p.wait(job, 30) is JobStatus.FINISHED
        assert tasks_by_name(p.report(job))["A"]["result"] == 1
