"""One App Engine run on the portal: its state, inputs, outputs (files downloaded through the API), its
container's logs, the runyard job running it, delete; read again on a timer until the run has ended.

Everything shown comes from ``/app-engine/v1`` with the person's session, so another user's run is not
found here as it is not by the API. Values a task wrote are shown as text, never as markup.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from nicegui import background_tasks, ui

from runyard.client import ApiError, ClientError
from runyard.client.app_engine import RUN_ENDED
from runyard.web.calls import Refused, call
from runyard.web.confirm import confirm
from runyard.web.labels import labelled
from runyard.web.sessions import Session
from runyard.web.times import moment

#: Seconds between two readings of a run that has not ended.
REFRESH_SECONDS = 2.0
#: Lines of the container's logs the view keeps.
MAX_LOG_LINES = 5000
#: Array items listed at most (the whole array is in the inputs/outputs zip).
MAX_ITEMS = 200
#: Quasar colours of the run states: waiting grey, running blue, FINISHED green, FAILED red.
STATE_COLOURS = {
    "CREATED": "grey-6",
    "PROVISIONED": "blue-grey",
    "QUEUING": "grey-7",
    "QUEUED": "grey-7",
    "PENDING": "grey-7",
    "RUNNING": "primary",
    "FINISHED": "positive",
    "FAILED": "negative",
}
BINARY = ("FILE", "IMAGE")


def state_badge(state: str) -> ui.badge:
    return labelled(ui.badge(state, color=STATE_COLOURS.get(state, "primary")), f"state {state}")


def state_cell(field: str = "state") -> str:
    """A Quasar table cell slot showing the row's ``field`` as a coloured badge (the text stays text)."""
    colours = json.dumps(STATE_COLOURS).replace('"', "'")
    return (
        f'<q-td :props="props"><q-badge :color="{colours}[props.row.{field}] || \'primary\'"'
        f' :label="props.row.{field}" :aria-label="\'state \' + props.row.{field}" /></q-td>'
    )


Changed = Callable[[dict[str, Any] | None], Awaitable[None]]
"""Told the run as last read (None once it is deleted or gone)."""


class RunView:
    """The run ``run_id`` in the current container, kept up to date while it has not ended; its owner
    calls :meth:`close` when it goes (its timer goes with the page, its logs reading does not)."""

    def __init__(self, session: Session, run_id: str, changed: Changed) -> None:
        self.session = session
        self.run_id = run_id
        self.changed = changed
        self.run: dict[str, Any] | None = None
        self.shown_state = ""
        self.job_id: int | None = None
        self.logs_task: asyncio.Task[None] | None = None
        self.logs_final = False
        self.closed = False
        self.client = ui.context.client
        with labelled(ui.card(), "Run").classes("w-full gap-2"):
            with ui.row().classes("items-center gap-3 w-full flex-wrap"):
                self.state = ui.row()
                ui.label(f"Run {run_id}").classes("font-medium break-all").props('aria-label="Run id"')
                ui.space()
                self.delete_button = ui.button(
                    "Delete run", icon="delete", color="negative", on_click=self.delete
                )
                self.delete_button.props("flat dense no-caps")
            self.facts = ui.label().classes("text-gray-600 text-sm")
            self.reason = labelled(ui.label().classes("text-sm"), "Run reason")
            self.job = ui.row().classes("items-center gap-2")
            with ui.row().classes("w-full gap-4 flex-wrap lg:flex-nowrap"):
                with ui.column().classes("grow basis-72 min-w-0 gap-1"):
                    ui.label("Inputs").classes("font-medium")
                    self.inputs = labelled(ui.column().classes("w-full gap-1"), "Run inputs")
                with ui.column().classes("grow basis-72 min-w-0 gap-1"):
                    ui.label("Outputs").classes("font-medium")
                    self.outputs = labelled(ui.column().classes("w-full gap-1"), "Run outputs")
            ui.label("Logs").classes("font-medium")
            self.logs = ui.log(max_lines=MAX_LOG_LINES).classes("w-full h-64 text-sm")
            self.logs.props["aria-label"] = "Run logs"
        self.timer = ui.timer(REFRESH_SECONDS, self.refresh)

    def close(self) -> None:
        """Stop reading (the page closed, or another run is shown); a reading under way drops its answer."""
        self.closed = True
        self.timer.cancel()
        if self.logs_task is not None:
            self.logs_task.cancel()

    @property
    def ended(self) -> bool:
        return self.run is not None and self.run["state"] in RUN_ENDED

    async def refresh(self) -> None:
        try:
            run = await call(self.session.client.get_app_run(self.run_id), quiet=True)
        except Refused as refused:
            if isinstance(refused.error, ApiError) and refused.error.status == 404:
                await self.gone("it does not exist, or is not yours")
            return
        if self.closed:
            return
        self.run = run
        if run["state"] != self.shown_state:
            await self.show(run)
        self.follow_logs()
        if self.ended and self.logs_final:
            self.timer.active = False
        await self.changed(run)

    async def show(self, run: dict[str, Any]) -> None:
        state = run["state"]
        self.shown_state = state
        self.state.clear()
        with self.state:
            state_badge(state)
        created, updated = iso_moment(run.get("createdAt")), iso_moment(run.get("updatedAt"))
        self.facts.text = (
            f"{run['task']['name']} {run['task']['version']} · created {created} · updated {updated}"
        )
        await self._values(self.inputs, "input", state != "CREATED", "Provision every input to see them.")
        await self._values(self.outputs, "output", state == "FINISHED", _no_outputs(state))
        self.reason.text = f"Reason: {run['reason']}" if run["reason"] else ""
        if run["jobId"] is not None and self.job_id is None:
            self._show_job(run["jobId"])

    async def _values(self, column: ui.column, side: str, readable: bool, otherwise: str) -> None:
        column.clear()
        with column:
            if not readable:
                ui.label(otherwise).classes("text-gray-600 text-sm")
                return
            read = (
                self.session.client.app_run_inputs if side == "input" else self.session.client.app_run_outputs
            )
            try:
                values = await call(read(self.run_id), quiet=True)
            except Refused as refused:
                ui.label(refused.text).classes("text-negative text-sm")
                return
            if self.closed:
                return
            if not values:
                ui.label("None.").classes("text-gray-600 text-sm")
            for value in values:  # in the descriptor's order
                self._value(side, value)

    def _value(self, side: str, value: dict[str, Any]) -> None:
        name, kind = value["parameterName"], value["type"]
        with ui.row().classes("items-start gap-2 w-full no-wrap"):
            ui.label(f"{name}:").classes("font-mono text-sm shrink-0")
            if kind in BINARY:
                self._download(side, name, None)
            elif kind == "ARRAY":
                with labelled(ui.column().classes("gap-0 min-w-0"), f"{side.capitalize()} {name}"):
                    self._items(side, name, value.get("subType", ""), value["value"] or [])
            else:
                shown = value["value"] if isinstance(value["value"], str) else json.dumps(value["value"])
                text = ui.label(shown).classes("font-mono text-sm break-all whitespace-pre-wrap min-w-0")
                labelled(text, f"{side.capitalize()} {name}")

    def _items(self, side: str, name: str, subtype: str, items: list[Any], prefix: str = "") -> None:
        for item in items[:MAX_ITEMS]:
            index = f"{prefix}{item['index']}"
            if isinstance(item["value"], list) and subtype == "ARRAY":
                self._items(side, name, subtype, item["value"], f"{index}/")
                continue
            with ui.row().classes("items-center gap-2 no-wrap"):
                ui.label(f"[{index}]").classes("font-mono text-sm text-gray-600")
                if subtype in BINARY:
                    self._download(side, name, index)
                else:
                    shown = item["value"] if isinstance(item["value"], str) else json.dumps(item["value"])
                    ui.label(shown).classes("font-mono text-sm break-all")
        if len(items) > MAX_ITEMS:
            ui.label(f"… {len(items) - MAX_ITEMS} more (in the zip of the run's {side}s)").classes(
                "text-gray-600 text-sm"
            )

    def _download(self, side: str, name: str, index: str | None) -> None:
        what = f"{name}[{index}]" if index is not None else name
        button = ui.button("Download", icon="download", on_click=lambda: self.fetch(side, name, index))
        labelled(button.props("dense flat no-caps"), f"Download {side} {what}")

    async def fetch(self, side: str, name: str, index: str | None) -> None:
        """A file of the run, read through the API with the session and handed to the browser."""
        client = self.session.client
        if side == "input":
            request = client.app_run_input_file(self.run_id, name, index)
        elif index is None:
            request = client.app_run_output_file(self.run_id, name)
        else:
            request = client.app_run_output_item(self.run_id, name, index)
        try:
            content = await call(request)
        except Refused:
            return
        suffix = f"-{index.replace('/', '-')}" if index is not None else ""
        ui.download.content(content, f"{name}{suffix}", "application/octet-stream")

    def _show_job(self, job_id: int) -> None:
        """The runyard job running the run, as the platform recorded it."""
        self.job_id = job_id
        self.job.clear()
        with self.job:
            ui.label("Job:").classes("text-sm")
            labelled(ui.link(f"#{job_id}", f"/jobs/{job_id}"), f"Job {job_id}")

    def follow_logs(self) -> None:
        """Read the container's logs as they come; once more after the run ended (then never again)."""
        if self.logs_final or (self.logs_task is not None and not self.logs_task.done()):
            return
        self.logs_final = self.ended
        self.logs.clear()
        self.logs_task = background_tasks.create(self._read_logs(), name="app engine run logs")

    async def _read_logs(self) -> None:
        try:
            async for line in self.session.client.follow_app_run_logs(self.run_id):
                with self.client:
                    self.logs.push(line)
        except ClientError as error:  # a deleted run (404), a dropped connection: the next reading tells
            if not (isinstance(error, ApiError) and error.status == 404):
                with self.client:
                    self.logs.push(f"[the logs cannot be read: {error}]")

    async def delete(self) -> None:
        if not await confirm(f"Delete run {self.run_id}?", "Delete", why=_DELETE_WHY):
            return
        try:
            await call(self.session.client.delete_app_run(self.run_id))
        except Refused:
            return
        ui.notify(f"Run {self.run_id} deleted")
        await self.gone("it was deleted")

    async def gone(self, why: str) -> None:
        self.close()
        self.run = None
        self.state.clear()
        self.facts.text = f"Run {self.run_id} cannot be shown: {why}."
        self.facts.classes(replace="text-negative")
        self.delete_button.set_visibility(False)
        await self.changed(None)


_DELETE_WHY = "Its inputs, outputs and logs are removed; a run that has not ended is stopped."


def _no_outputs(state: str) -> str:
    if state == "FAILED":
        return "The run FAILED: no outputs (its logs may say why)."
    return "Outputs come when the run has FINISHED."


def iso_moment(iso: str | None) -> str:
    """``2026-12-07 19:10:05 UTC`` from the API's ISO-8601 instant."""
    if not iso:
        return ""
    try:
        return moment(datetime.fromisoformat(iso).timestamp())
    except ValueError:
        return iso
