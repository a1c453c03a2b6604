"""Waiting for jobs from the command line: until they end, or until they need someone."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from runyard.errors import SchedulerError
from runyard.model import JobStatus
from runyard.platform import Platform
from runyard.reports import JobReport

MOVING = {  # task statuses that move a job on without anyone acting
    "RUNNING",
    "WAITING_ON_ERROR",
    "WAITING_ON_FAILURE",
}
_POLL = 1.0  # seconds between looks at a job that may be stuck (PAUSED or IN_ERROR)


def follow(platform: Platform, ids: list[int], *, data_dir: Path | None, err: Console) -> list[JobReport]:
    """Reports of the jobs once each has ended or is stuck; Ctrl-C exits 130 with a hint."""
    try:
        for job_id in ids:
            _wait(platform, job_id, data_dir, err)
    except KeyboardInterrupt:
        err.print(f"interrupted.{_resume_hint(data_dir)}")
        raise typer.Exit(130) from None
    except SchedulerError as error:  # the store failed under the scheduler: what it kept is resumable
        err.print(f"[red]error:[/red] {escape(str(error))}.{_resume_hint(data_dir)}")
        raise typer.Exit(1) from None
    return [platform.report(job_id) for job_id in ids]


def _wait(platform: Platform, job_id: int, data_dir: Path | None, err: Console) -> None:
    """Until the job ends, or is PAUSED / IN_ERROR with nothing left that could move it on."""
    while True:
        status = platform.wait(job_id, _POLL)
        if not status.is_alive:
            return
        if status in (JobStatus.PAUSED, JobStatus.IN_ERROR):
            report = platform.report(job_id)
            if not any(task["status"] in MOVING for task in report["tasks"]):
                _explain(report, data_dir, err)
                return


def _explain(report: JobReport, data_dir: Path | None, err: Console) -> None:
    failed = [t["name"] for t in report["tasks"] if t["status"] == "IN_ERROR"]
    what = f"task {', '.join(failed)} failed" if failed else "it was paused"
    err.print(
        f"[yellow]job {report['job_id']} is {report['status']}:[/yellow] {what}; nothing else can run."
        f"{_resume_hint(data_dir, report['job_id'], restart=bool(failed))}"
    )


def _resume_hint(data_dir: Path | None, job_id: int | None = None, *, restart: bool = False) -> str:
    if data_dir is None:
        return " Run with --data-dir to be able to resume it."
    command = f"runyard resume --data-dir {data_dir}"
    if job_id is not None:
        command += f" {job_id}"
    if restart:
        command += " --restart-in-error"
    return f" Go on with: {command}"
