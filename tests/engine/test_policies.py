"""Error policies, retries, walltime, and user control of jobs and tasks, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.helpers import fails_until, platform, python_task, tasks_by_name
from runyard.errors import InvalidTransitionError
from runyard.model import JobStatus, Workflow
from runyard.platform import Platform

FAIL = "raise RuntimeError('boom')"


def wait_for(platform: Platform, job_id: int, task: str, status: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tasks_by_name(platform.report(job_id)).get(task, {}).get("status") == status:
            return
        time.sleep(0.05)
    raise AssertionError(f"{task} never became {status}: {platform.report(job_id)['tasks']}")


def test_continue_job_execution_runs_successors_of_a_faulty_task(tmp_path: Path, database_url: str) -> None:
    workflow = Workflow(
        name="Continue",
        on_task_error="continueJobExecution",
        tasks=[python_task("A", FAIL), python_task("B", "result = len(results)", "A")],
    )
    with platform(tmp_path, database_url) as p:
        job = p.submit(workflow)
        assert p.wait(job, 30) is JobStatus.FINISHED
        tasks = tasks_by_name(p.report(job))
    assert tasks["A"]["status"] == "FAULTY"
    assert "RuntimeError: boom" in tasks["A"]["error"]
    assert tasks["B"]["status"] == "FINISHED" and tasks["B"]["result"] == 1


def test_retries_up_to_max_number_of_execution_with_a_delay(tmp_path: Path, database_url: str) -> None:
    counter = tmp_path / "attempts"
    code = f"""
from pathlib import Path
p = Path({str(counter)!r})
n = int(p.read_text()) + 1 if p.exists() else 1
p.write_text(str(n))
if n < 3:
    raise RuntimeError(f"attempt {{n}} fails")
result = n
"""
    workflow = Workflow(
        name="Retry", max_number_of_execution=3, task_retry_delay="1", tasks=[python_task("A", code)]
    )
    with platform(tmp_path, database_url) as p:
        start = time.monotonic()
        job = p.submit(workflow)
        assert p.wait(job, 30) is JobStatus.FINISHED
        elapsed = time.monotonic() - start
        a = tasks_by_name(p.report(job))["A"]
    assert (a["status"], a["result"], a["executions"]) == ("FINISHED", 3, 3)
    assert elapsed >= 2.0  # two retry delays of one second


def test_a_task_out_of_executions_is_faulty(tmp_path: Path) -> None:
    task = python_task("A", FAIL, max_number_of_execution=2)
    with platform(tmp_path) as p:
        job = p.submit(Workflow(name="Twice", tasks=[task]))
        assert p.wait(job, 30) is JobStatus.FINISHED
        a = tasks_by_name(p.report(job))["A"]
    assert (a["status"], a["executions"]) == ("FAULTY", 2)


def test_suspend_task_puts_job_in_error_until_the_task_is_restarted(tmp_path: Path) -> None:
    marker = tmp_path / "fixed"
    code = fails_until(marker) + "\nresult = 'ok'"
    workflow = Workflow(
        name="Suspend",
        on_task_error="suspendTask",
        tasks=[python_task("A", code), python_task("B", "result = results[0].value()", "A")],
    )
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        wait_for(p, job, "A", "IN_ERROR")
        assert p.report(job)["status"] == "IN_ERROR"
        assert tasks_by_name(p.report(job))["B"]["status"] == "PENDING"
        marker.touch()
        p.restart_task(job, "A")
        assert p.wait(job, 30) is JobStatus.FINISHED
        assert tasks_by_name(p.report(job))["B"]["result"] == "ok"


def test_pause_job_policy_pauses_the_job_with_the_task_in_error(tmp_path: Path) -> None:
    marker = tmp_path / "fixed"
    code = fails_until(marker)
    workflow = Workflow(
        name="PauseOnError",
        on_task_error="pauseJob",
        tasks=[python_task("A", code), python_task("B", "result = 'b'", "A")],
    )
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        wait_for(p, job, "A", "IN_ERROR")
        assert p.report(job)["status"] == "PAUSED"
        assert tasks_by_name(p.report(job))["B"]["status"] == "PAUSED"
        p.resume_job(job)
        assert p.report(job)["status"] == "IN_ERROR"
        marker.touch()
        p.restart_task(job, "A")
        assert p.wait(job, 30) is JobStatus.FINISHED
        assert tasks_by_name(p.report(job))["B"]["status"] == "FINISHED"


def test_cancel_job_policy_aborts_running_tasks_and_starts_no_other(
    tmp_path: Path, database_url: str
) -> None:
    workflow = Workflow(
        name="Cancel",
        on_task_error="cancelJob",
        tasks=[
            python_task("Slow", "import time; time.sleep(30)"),
            python_task("Fails", "import time; time.sleep(0.5); " + FAIL),
            python_task("After", "pass", "Fails"),
        ],
    )
    with platform(tmp_path, database_url) as p:
        job = p.submit(workflow)
        assert p.wait(job, 30) is JobStatus.CANCELED
        tasks = tasks_by_name(p.report(job))
    assert tasks["Fails"]["status"] == "FAULTY"
    assert tasks["Slow"]["status"] == "ABORTED"
    assert tasks["After"]["status"] == "NOT_STARTED"


def test_walltime_kills_the_task(tmp_path: Path) -> None:
    task = python_task("Sleepy", "import time; time.sleep(60)", walltime="1")
    with platform(tmp_path) as p:
        start = time.monotonic()
        job = p.submit(Workflow(name="Walltime", tasks=[task]))
        assert p.wait(job, 30) is JobStatus.FINISHED
        assert time.monotonic() - start < 10
        sleepy = tasks_by_name(p.report(job))["Sleepy"]
    assert sleepy["status"] == "FAULTY"
    assert "walltime" in sleepy["error"]


def test_kill_job_stops_running_tasks(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Kill",
        tasks=[python_task("Long", "import time; time.sleep(60)"), python_task("Next", "pass", "Long")],
    )
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        wait_for(p, job, "Long", "RUNNING")
        p.kill_job(job)
        assert p.wait(job, 10) is JobStatus.KILLED
        tasks = tasks_by_name(p.report(job))
        assert (tasks["Long"]["status"], tasks["Next"]["status"]) == ("ABORTED", "NOT_STARTED")
        with pytest.raises(InvalidTransitionError, match="ended"):
            p.kill_job(job)


def test_kill_task_lets_the_job_go_on(tmp_path: Path) -> None:
    workflow = Workflow(
        name="KillTask",
        tasks=[python_task("Long", "import time; time.sleep(60)"), python_task("Next", "result = 1", "Long")],
    )
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        wait_for(p, job, "Long", "RUNNING")
        p.kill_task(job, "Long")
        assert p.wait(job, 10) is JobStatus.FINISHED
        tasks = tasks_by_name(p.report(job))
    assert (tasks["Long"]["status"], tasks["Next"]["status"]) == ("ABORTED", "FINISHED")


def test_pause_and_resume_a_job_and_a_task(tmp_path: Path) -> None:
    workflow = Workflow(
        name="Pause",
        tasks=[
            python_task("First", "import time; time.sleep(1)"),
            python_task("Second", "pass", "First"),
            python_task("Other", "pass", "First"),
        ],
    )
    with platform(tmp_path, nodes=1) as p:
        job = p.submit(workflow)
        wait_for(p, job, "First", "RUNNING")
        p.pause_job(job)
        with pytest.raises(InvalidTransitionError, match="PAUSED"):
            p.pause_task(job, "Other")  # already paused with the job
        wait_for(p, job, "First", "FINISHED")  # a paused job finishes what runs
        time.sleep(0.3)
        tasks = tasks_by_name(p.report(job))
        assert (tasks["Second"]["status"], p.report(job)["status"]) == ("PAUSED", "PAUSED")
        with pytest.raises(InvalidTransitionError):
            p.resume_task(job, "Second")  # the job itself is paused
        p.resume_job(job)
        assert p.wait(job, 20) is JobStatus.FINISHED


def test_a_paused_task_waits_while_the_job_goes_on(tmp_path: Path) -> None:
    workflow = Workflow(
        name="PauseTask",
        tasks=[
            python_task("Gate", "import time; time.sleep(1)"),
            python_task("Held", "pass", "Gate"),
            python_task("Free", "pass", "Gate"),
        ],
    )
    with platform(tmp_path) as p:
        job = p.submit(workflow)
        p.pause_task(job, "Held")
        wait_for(p, job, "Free", "FINISHED")
        assert tasks_by_name(p.report(job))["Held"]["status"] == "PAUSED"
        p.resume_task(job, "Held")
        assert p.wait(job, 20) is JobStatus.FINISHED
        with pytest.raises(InvalidTransitionError):
            p.resume_job(job)


def test_a_raised_priority_goes_first(tmp_path: Path) -> None:
    with platform(tmp_path, nodes=1) as p:
        blocker = p.submit(
            Workflow(name="Blocker", tasks=[python_task("Block", "import time; time.sleep(1)")])
        )
        wait_for(p, blocker, "Block", "RUNNING")
        normal = p.submit(Workflow(name="Normal", tasks=[python_task("T", "pass")]))
        low = p.submit(Workflow(name="Low", priority="low", tasks=[python_task("T", "pass")]))
        p.set_priority(low, "HIGHEST")
        assert p.report(low)["priority"] == "highest"
        p.wait(normal, 20)
        p.wait(low, 20)
        started = {job: tasks_by_name(p.report(job))["T"]["started_at"] for job in (normal, low)}
        assert started[low] < started[normal]
        with pytest.raises(ValueError, match="urgent"):
            p.set_priority(low, "urgent")


@pytest.mark.parametrize("nodes", [2, 1])
def test_restart_task_on_error_elsewhere_retries_on_another_node(tmp_path: Path, nodes: int) -> None:
    trail = tmp_path / "trail.txt"
    code = (
        f"from pathlib import Path\np = Path({str(trail)!r})\n"
        "p.write_text((p.read_text() if p.exists() else '') + variables.get('PA_NODE_NAME') + ' ')\n"
        "if len(p.read_text().split()) < 2: raise RuntimeError('first attempt fails')"
    )
    task = python_task("A", code, max_number_of_execution=2, restart_task_on_error="elsewhere")
    with platform(tmp_path, nodes=nodes) as p:
        job = p.submit(Workflow(name="Elsewhere", tasks=[task]))
        assert p.wait(job, 30) is JobStatus.FINISHED
        assert tasks_by_name(p.report(job))["A"]["status"] == "FINISHED"
    first, second = trail.read_text().split()
    assert (first != second) if nodes == 2 else (first == second == "local-1")  # alone, a node retries


class _SlowTurns:
    """A scheduler clock whose every reading is ``step`` seconds after the last, as if each step of a turn
    (outcome, dispatch, going to sleep) took that long: a retry delay can end between the dispatch that
    found the task not yet due and the moment the scheduler decides how long to sleep."""

    def __init__(self, step: float) -> None:
        self.now, self.step = time.time(), step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_a_retry_delay_ending_during_a_turn_is_not_missed(tmp_path: Path) -> None:
    task = python_task("A", FAIL, max_number_of_execution=2)
    with platform(tmp_path, nodes=1) as p:
        p.scheduler.clock = _SlowTurns(step=0.6)
        job = p.submit(Workflow(name="Retry", task_retry_delay="1", tasks=[task]))
        assert p.wait(job, 20) is JobStatus.FINISHED  # the second execution ran: nothing else woke it
        a = tasks_by_name(p.report(job))["A"]
    assert (a["status"], a["executions"]) == ("FAULTY", 2)
