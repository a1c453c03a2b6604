"""Task output as users read it: stored output of ended executions, the live log file of running ones.

A :class:`LogCursor` remembers how far each execution was read, so that following a job's logs
sends every byte once, in task order, whole lines only while an execution still runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from runyard.scheduler.specs import Spaces
from runyard.store.schema import executions, tasks


@dataclass(frozen=True)
class LogChunk:
    task: str
    execution: int
    text: str


@dataclass
class LogCursor:
    read: dict[tuple[int, int], int] = field(default_factory=dict)  # (task number, execution) → bytes sent

    def next_chunks(
        self, connection: sa.Connection, spaces: Spaces, job_id: int, task: str | None = None
    ) -> list[LogChunk]:
        """What was written since the last call (all of it on the first call)."""
        instances = sa.select(tasks.c.number, tasks.c.name, tasks.c.executions).where(
            tasks.c.job_id == job_id
        )
        if task is not None:
            instances = instances.where(tasks.c.name == task)
        ended = {
            (row.task_number, row.execution): row.output
            for row in connection.execute(
                sa.select(executions.c.task_number, executions.c.execution, executions.c.output).where(
                    executions.c.job_id == job_id
                )
            )
        }
        chunks: list[LogChunk] = []
        for row in connection.execute(instances.order_by(tasks.c.number)):
            for execution in range(1, row.executions + 1):
                key = (row.number, execution)
                start = self.read.get(key, 0)
                if key in ended:
                    data = ended[key].encode()[start:]
                else:
                    data = _tail(spaces, job_id, row.number, execution, start)
                    data = data[: data.rfind(b"\n") + 1]  # a running execution: whole lines only
                if data:
                    self.read[key] = start + len(data)
                    chunks.append(LogChunk(row.name, execution, data.decode("utf-8", "replace")))
        return chunks


def _tail(spaces: Spaces, job_id: int, number: int, execution: int, start: int) -> bytes:
    try:
        with spaces.log(job_id, number, execution).open("rb") as f:
            f.seek(start)
            return f.read()
    except FileNotFoundError:
        return b""


def prefixed(chunks: list[LogChunk]) -> str:
    """Lines of several tasks, each as ``[TASK] line`` (the form of a whole job's log)."""
    return "".join(f"[{chunk.task}] {line}\n" for chunk in chunks for line in chunk.text.splitlines())
