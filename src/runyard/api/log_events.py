"""Task output as events: the log files of running tasks of followed jobs, read as they grow.

A job is followed from the first subscription to its events until it ends; its running executions are
read every :data:`TICK_SECONDS` (whole lines, at most :data:`CHUNK_BYTES` per event), and what an
execution printed last is read when it ends, before its status event is published. Jobs nobody follows
cost nothing but a dictionary entry per running task.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runyard.model import JobStatus, TaskStatus
from runyard.scheduler.loop import JobEvent

TICK_SECONDS = 0.1
"""At most one log event per execution in this time."""
CHUNK_BYTES = 16 * 1024
"""At most this much text per log event; the rest comes in the next."""
FINAL_BYTES = 256 * 1024
"""Read at most this much when an execution ends; more is left to ``GET /jobs/{id}/logs``."""

Publish = Callable[[str, int, str, int, int, str], None]
"""``(owner, job_id, task, execution, offset, text)``."""


@dataclass
class _Tail:
    owner: str
    job_id: int
    task: str
    execution: int
    path: Path
    offset: int | None = None  # read up to here; None until its job is followed


class LogFollower:
    """Feed :meth:`heard` every job event (before they are published); :meth:`follow` a job to read
    its logs; :meth:`start` the reading thread, :meth:`stop` it."""

    def __init__(self, publish: Publish) -> None:
        self._publish = publish
        self._tails: dict[tuple[int, str], _Tail] = {}
        self._followed: set[int] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="runyard-log-events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def follow(self, job_id: int) -> None:
        """Read the job's output from now on, until it ends."""
        with self._lock:
            if job_id in self._followed:
                return
            self._followed.add(job_id)
            for tail in self._tails.values():
                if tail.job_id == job_id:
                    tail.offset = _size(tail.path)

    def heard(self, event: JobEvent) -> None:
        """A scheduler listener: tracks running executions, reads what an ended one printed last."""
        with self._lock:
            if event.task is None:
                if not JobStatus(event.status).is_alive:
                    self._followed.discard(event.job_id)
                    for key in [k for k in self._tails if k[0] == event.job_id]:
                        del self._tails[key]
                return
            key = (event.job_id, event.task)
            running = event.status == TaskStatus.RUNNING.value
            if running and key in self._tails and self._tails[key].execution == event.execution:
                return  # told again while it runs: go on reading
            tail = self._tails.pop(key, None)
            if tail is not None and tail.offset is not None:
                self._read(tail, FINAL_BYTES, whole_lines=False)
            if running and event.log_path is not None:
                tail = _Tail(event.owner, event.job_id, event.task, event.execution, Path(event.log_path))
                if event.job_id in self._followed:
                    tail.offset = 0
                self._tails[key] = tail

    def _run(self) -> None:
        while not self._stopped.wait(TICK_SECONDS):
            with self._lock:
                for tail in self._tails.values():
                    if tail.offset is not None:
                        self._read(tail, CHUNK_BYTES, whole_lines=True)

    def _read(self, tail: _Tail, limit: int, *, whole_lines: bool) -> None:
        assert tail.offset is not None
        try:
            with tail.path.open("rb") as f:
                f.seek(tail.offset)
                data = f.read(limit)
        except FileNotFoundError:
            return
        for start in range(0, len(data), CHUNK_BYTES):
            piece = data[start : start + CHUNK_BYTES]
            if whole_lines and len(piece) < CHUNK_BYTES:
                piece = piece[: piece.rfind(b"\n") + 1]  # an unfinished line waits for its end
            piece = _whole_characters(piece)
            if not piece:
                return
            text = piece.decode("utf-8", "replace")
            self._publish(tail.owner, tail.job_id, tail.task, tail.execution, tail.offset, text)
            tail.offset += len(piece)


def _whole_characters(data: bytes) -> bytes:
    """``data`` without a UTF-8 character cut at its end."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # a lead byte: is its character whole?
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= length else data[:-back]
    return data


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
