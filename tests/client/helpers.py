"""Workflows built in Python, and a wait, for the SDK and CLI tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from runyard.client import Client, Script, ScriptExecutable, Task, Variable, Workflow
from runyard.client.documents import Job

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "runyard" / "examples"


def script_task(name: str, language: str, code: str, *, depends: list[str] | None = None) -> Task:
    return Task(name, ScriptExecutable(Script(language, code)), depends=depends or [])


def sleeper(seconds: float, *, name: str = "Sleeper") -> Workflow:
    """A job that stays RUNNING for ``seconds`` (task ``Sleep``), then runs ``After``."""
    return Workflow(
        name,
        tasks=[
            script_task("Sleep", "bash", f"sleep {seconds}"),
            script_task("After", "bash", "echo after", depends=["Sleep"]),
        ],
    )


def greeting() -> Workflow:
    """``Greet`` prints and returns ``hello WHO``; ``Count`` puts its length in the result map."""
    return Workflow(
        "Greeting",
        variables=[Variable("WHO", "world", model="PA:NOT_EMPTY_STRING")],
        tasks=[
            script_task(
                "Greet", "cpython", 'text = "hello " + variables.get("WHO")\nprint(text)\nresult = text'
            ),
            script_task(
                "Count",
                "cpython",
                'resultMap.put("LENGTH", len(results[0].value()))\nresult = 1',
                depends=["Greet"],
            ),
        ],
    )


def failing(*, on_task_error: str | None = None) -> Workflow:
    """Task ``Fails`` prints a line and exits with 3."""
    return Workflow(
        "Failing",
        on_task_error=on_task_error,
        tasks=[script_task("Fails", "bash", "echo about to fail; exit 3")],
    )


def until(client: Client, job_id: int, ready: Callable[[Job], bool], timeout: float = 30) -> Job:
    """The job's state once ``ready`` holds (a test's synchronisation, polling on purpose)."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get_job(job_id)
        if ready(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} never got ready: {job}"
        time.sleep(0.05)


def task_status(job: Job, name: str) -> str:
    return next(t["status"] for t in job["tasks"] if t["name"] == name)
