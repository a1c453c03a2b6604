"""Watching a job on a server until it ends: a live table of its tasks and a progress bar, driven by
the job's event stream (no polling)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table

from runyard.cli.follow import MOVING
from runyard.cli.live import STYLES
from runyard.client import Client
from runyard.client.documents import Event, Job
from runyard.client.events import SUBSCRIBED
from runyard.model import JobStatus, TaskStatus


def tasks_done(counts: Mapping[str, int]) -> int:
    """How many tasks of these counts by status are done: they will not run again (FINISHED, SKIPPED,
    FAILED...), as both ``runyard jobs`` and the live view of ``submit --wait`` count them."""
    return sum(count for status, count in counts.items() if TaskStatus(status).is_terminal)


def succeeded(job: Job) -> bool:
    """The job ended FINISHED and none of its tasks failed."""
    return job["status"] == JobStatus.FINISHED and not any(
        TaskStatus(task["status"]).is_failure for task in job["tasks"]
    )


def stuck(job: Job) -> bool:
    """PAUSED or IN_ERROR with nothing running or retrying: only someone can move it on."""
    return job["status"] in (JobStatus.PAUSED, JobStatus.IN_ERROR) and not any(
        task["status"] in MOVING for task in job["tasks"]
    )


class TaskBoard:
    """The tasks of a job (instances included, as they appear) with their status and node."""

    def __init__(self, job: Job) -> None:
        self.job_id, self.name = job["id"], job["name"]
        self.status = job["status"]
        self.tasks: dict[str, tuple[str, str | None]] = {}
        self.reset(job)

    def reset(self, job: Job) -> None:
        self.status = job["status"]
        for task in job["tasks"]:
            self.tasks[task["name"]] = (task["status"], task["node"])

    def apply(self, event: Event) -> None:
        if event["task"] is None:
            self.status = event["status"]
            return
        _, node = self.tasks.get(event["task"], ("", None))
        self.tasks[event["task"]] = (event["status"], event.get("node") or node)

    def render(self) -> RenderableType:
        table = Table(title=f"job {self.job_id} {escape(self.name)}: {_styled(self.status)}")
        for column in ("task", "status", "node"):
            table.add_column(column)
        for name, (status, node) in self.tasks.items():
            table.add_row(escape(name), _styled(status), escape(node or ""))
        done = tasks_done(Counter(status for status, _ in self.tasks.values()))
        total = len(self.tasks)
        progress = Table.grid(padding=(0, 1))
        progress.add_row(
            ProgressBar(total=max(total, 1), completed=done, width=40), f"{done}/{total} tasks done"
        )
        return Group(table, progress)


def watch(client: Client, job_id: int, console: Console, *, show: bool) -> Job:
    """Follow the job until it ends or is :func:`stuck`; returns its state then.

    With ``show``, the task board is redrawn in place on a terminal, else printed once at the end.
    """
    job = client.get_job(job_id)
    board = TaskBoard(job)
    live = Live(board.render(), console=console, auto_refresh=False) if show and console.is_terminal else None
    if live is not None:
        live.start()
    try:
        while JobStatus(job["status"]).is_alive and not stuck(job):  # again if the stream ended early
            for event in client.events(job_id, subscribed=True):
                if event["kind"] in (SUBSCRIBED, "job"):  # from the subscription on, no change is missed
                    job = client.get_job(job_id)
                    board.reset(job)
                    if stuck(job):
                        break
                else:
                    board.apply(event)
                if live is not None:
                    live.update(board.render(), refresh=True)
            job = client.get_job(job_id)
            board.reset(job)
    finally:
        if live is not None:
            live.update(board.render(), refresh=True)
            live.stop()
    if show and live is None:
        console.print(board.render())
    return job


def results_table(job: Job) -> Table:
    table = Table(title=f"job {job['id']} {escape(job['name'])}: {_styled(job['status'])}")
    for column in ("task", "status", "executions", "node", "result"):
        table.add_column(column)
    for task in job["tasks"]:
        result = "" if task["result"] is None else json.dumps(task["result"], default=str)
        table.add_row(
            escape(task["name"]),
            _styled(task["status"]),
            str(task["executions"]),
            escape(task["node"] or ""),
            escape(result[:60]),
        )
    return table


def _styled(status: str) -> str:
    style = STYLES.get(status, "yellow")
    return f"[{style}]{status}[/{style}]"
