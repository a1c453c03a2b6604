"""A job's output, whole (each line ``[TASK] line``) or one task's, read once and then followed from
``log`` events, scrolling as lines arrive.

The first read and the events overlap: each task's text is kept with the execution it belongs to and
its length in bytes, and an event's ``offset`` says which of its bytes are new.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from nicegui import ui

from runyard.client import AsyncClient
from runyard.client.documents import StreamEvent, Task
from runyard.web.calls import call

WHOLE_JOB = ""
#: Lines the view keeps (the oldest go first); the whole output stays in ``GET /jobs/{id}/logs``.
MAX_LINES = 5000
#: Task outputs read at once when the page (re)starts following.
READERS = 4


@dataclass
class _Output:
    execution: int
    data: bytes = b""


class LogPanel:
    def __init__(self, client: AsyncClient, job_id: int) -> None:
        self._client = client
        self._job_id = job_id
        self._outputs: dict[str, _Output] = {}
        with ui.row().classes("w-full items-center gap-3"):
            self.scope = ui.select({WHOLE_JOB: "Whole job"}, value=WHOLE_JOB, label="Output of")
            self.scope.props("dense options-dense").classes("min-w-48")
            ui.label("follows the job live").classes("text-gray-600 text-sm")
        self.view = ui.log(max_lines=MAX_LINES).classes("w-full h-96 text-sm").props('aria-label="Output"')
        self.scope.on_value_change(self.render)

    async def load(self, tasks: list[Task]) -> None:
        """Read what the tasks that ran printed (their last execution), then show the chosen scope."""
        ran = [t for t in tasks if t["executions"] > 0]
        readers = asyncio.Semaphore(READERS)

        async def read(task: str) -> str:
            async with readers:
                return await call(self._client.get_task_output(self._job_id, task))

        texts = await asyncio.gather(*(read(t["name"]) for t in ran))
        self._outputs = {
            t["name"]: _Output(t["executions"], text.encode()) for t, text in zip(ran, texts, strict=True)
        }
        self.scope.options = {WHOLE_JOB: "Whole job", **{t["name"]: t["name"] for t in tasks}}
        self.scope.update()
        self.render()

    def choose(self, task: str) -> None:
        self.scope.value = task if task in self.scope.options else WHOLE_JOB

    def render(self) -> None:
        self.view.clear()
        for task, output in self._outputs.items():
            if self.scope.value in (WHOLE_JOB, task):
                self._push(task, output.data.decode(errors="replace"))

    def heard(self, event: StreamEvent) -> None:
        """A ``log`` event: append what is new of it."""
        task, execution, offset = event.get("task") or "", event["execution"], event["offset"]
        data = event["text"].encode()
        output = self._outputs.get(task)
        if output is None or execution > output.execution:  # a new execution replaces the last one's text
            output = self._outputs[task] = _Output(execution)
            if self.scope.value == task:
                self.view.clear()
        elif execution < output.execution:
            return
        new = data[max(0, len(output.data) - offset) :]
        if not new:
            return
        output.data += new
        if self.scope.value in (WHOLE_JOB, task):
            self._push(task, new.decode(errors="replace"))

    def _push(self, task: str, text: str) -> None:
        lines = text.splitlines()
        self.view.push("\n".join(lines if self.scope.value else [f"[{task}] {line}" for line in lines]))
