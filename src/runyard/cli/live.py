"""Live view of a running job: task status changes and their output as it is written."""

from __future__ import annotations

import threading
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from runyard.scheduler.loop import JobEvent

STYLES = {  # the colour of each status
    "RUNNING": "cyan",
    "FINISHED": "green",
    "FAULTY": "red",
    "FAILED": "red",
    "IN_ERROR": "red",
    "CANCELED": "red",
    "KILLED": "red",
    "ABORTED": "red",
    "SKIPPED": "dim",
    "NOT_STARTED": "dim",
}


class LiveView:
    """Prints each status change of the job's tasks and tails the logs of running ones."""

    def __init__(self, console: Console, poll: float = 0.1) -> None:
        self.console = console
        self.poll = poll
        self._tails: dict[str, tuple[Path, int]] = {}  # task -> (log, bytes already shown)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="runyard-live", daemon=True)

    def __enter__(self) -> LiveView:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            for task in list(self._tails):
                self._drain(task)

    def __call__(self, event: JobEvent) -> None:
        with self._lock:
            if event.task is None:
                self._line(f"job {event.job_id}", event.status)
                return
            if event.task in self._tails:
                self._drain(event.task)
                del self._tails[event.task]
            where = f" on {event.node}" if event.node else ""
            self._line(f"{escape(event.task)}{where}", event.status)
            if event.status == "RUNNING" and event.log_path:
                self._tails[event.task] = (Path(event.log_path), 0)

    def _line(self, subject: str, status: str) -> None:
        style = STYLES.get(status, "yellow")
        self.console.print(f"[bold]{subject}[/bold] [{style}]{status}[/{style}]", highlight=False)

    def _follow(self) -> None:
        while not self._stop.wait(self.poll):
            with self._lock:
                for task in list(self._tails):
                    self._drain(task)

    def _drain(self, task: str) -> None:
        path, shown = self._tails[task]
        try:
            with path.open("rb") as f:
                f.seek(shown)
                data = f.read()
        except FileNotFoundError:
            return
        complete = data[: data.rfind(b"\n") + 1] if not self._stop.is_set() else data
        for line in complete.decode("utf-8", "replace").splitlines():
            self.console.print(f"  [dim]{escape(task)}>[/dim] {escape(line)}", highlight=False)
        self._tails[task] = (path, shown + len(complete))
