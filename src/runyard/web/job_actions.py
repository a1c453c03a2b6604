"""What a person may do to a job, each asked for confirmation and offered only when the job's state
allows it: kill, pause, resume, restart its IN_ERROR tasks, change its priority, delete it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from runyard.client.documents import Job
from runyard.model import JobStatus, Priority
from runyard.web.calls import Refused, call
from runyard.web.confirm import confirm
from runyard.web.sessions import Session

_PAUSABLE = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.STALLED)


class JobActions:
    """A row of buttons and the priority; :meth:`allow` enables what the job's state allows. ``changed``
    runs after an action succeeded (a deleted job is found gone then)."""

    def __init__(
        self,
        session: Session,
        job_id: int,
        changed: Callable[[], Awaitable[None]],
    ) -> None:
        self._jobs = session.client
        self._id = job_id
        self._changed = changed
        self._job: Job | None = None
        jobs = self._jobs
        with ui.row().classes("gap-2 items-center flex-wrap"):
            self.kill = self._button(
                "Kill", "cancel", "Its running tasks are aborted.", lambda: jobs.kill_job(job_id)
            )
            self.pause = self._button(
                "Pause", "pause", "No task of it starts until it is resumed.", lambda: jobs.pause_job(job_id)
            )
            self.resume = self._button("Resume", "play_arrow", "", lambda: jobs.resume_job(job_id))
            self.restart = ui.button("Restart in-error tasks", icon="replay", on_click=self._restart)
            self.restart.props("outline dense no-caps")
            self.priority = ui.select([p.value for p in Priority], label="Priority")
            self.priority.props("dense").classes("w-32")
            self.priority.on_value_change(lambda e: self._prioritise(e.value))
            self.delete = self._button(
                "Delete", "delete", "Its results and logs go with it.", lambda: jobs.delete_job(job_id)
            )

    def _button(self, verb: str, icon: str, why: str, request: Callable[[], Awaitable[Any]]) -> ui.button:
        async def clicked() -> None:
            if await confirm(f"{verb} job {self._id}?", verb, why=why):
                await self._act(verb, request())

        return ui.button(verb, icon=icon, on_click=clicked).props("outline dense no-caps")

    def allow(self, job: Job) -> None:
        self._job = job
        status = JobStatus(job["status"])
        self.kill.set_enabled(status.is_alive)
        self.pause.set_enabled(status in _PAUSABLE)
        self.resume.set_enabled(status is JobStatus.PAUSED)
        self.restart.set_enabled(status.is_alive and bool(self._in_error()))
        self.priority.set_value(job["priority"])
        self.priority.set_enabled(status.is_alive)
        self.delete.set_enabled(not status.is_alive)

    def _in_error(self) -> list[str]:
        tasks = self._job["tasks"] if self._job is not None else []
        return [t["name"] for t in tasks if t["status"] == "IN_ERROR"]

    async def _act(self, what: str, request: Awaitable[Any]) -> bool:
        try:
            await call(request)
        except Refused:  # the person has been told
            return False
        ui.notify(f"{what}: done", type="positive")
        await self._changed()
        return True

    async def _restart(self) -> None:
        names = self._in_error()
        if await confirm(f"Restart {len(names)} in-error task(s)?", "Restart", why=", ".join(names)):
            for name in names:
                if not await self._act(f"Restart {name}", self._jobs.restart_task(self._id, name)):
                    return

    async def _prioritise(self, priority: str) -> None:
        current = self._job["priority"] if self._job is not None else None
        if priority == current or current is None:
            return
        question = f"Give job {self._id} the priority {priority}?"
        if not (
            await confirm(question, "Change priority")
            and await self._act("Priority", self._jobs.set_priority(self._id, priority))
        ):
            self.priority.set_value(current)
