"""``/app-engine``: the App Engine's tasks (Cytomine-compatible bundles) and their runs.

The tasks (every user sees every task), a bundle upload, delete (the uploader or an admin: the API says
so otherwise); a task chosen (``?namespace=…&version=…``): its description, inputs and outputs, its runs
(yours; an admin's: everyone's) and a "New run" form; a run chosen (``&run=…``): see
:mod:`runyard.web.app_engine_run`. Runs that have not ended are read again on a timer, which stops with
the page.
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from nicegui import events, ui

from runyard.client.app_engine import RUN_ENDED
from runyard.web.app_engine_form import UPLOAD_FAILED, RunForm, constraints_text, type_text
from runyard.web.app_engine_run import RunView, iso_moment, state_cell
from runyard.web.calls import Refused, call
from runyard.web.confirm import confirm
from runyard.web.layout import page
from runyard.web.sessions import Session

#: The largest bundle the portal takes (the API applies its own bound too).
MAX_BUNDLE_BYTES = 512 * 1024 * 1024
#: Seconds between two readings of the runs while one of them has not ended.
REFRESH_SECONDS = 3.0
#: Runs listed (the newest); tasks whose parameters are read for the table; requests at once.
MAX_RUNS = 50
MAX_DETAILED_TASKS = 200
READERS = 4
#: A logo shown (a PNG) is at most this large.
MAX_LOGO_BYTES = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n"
_LEFT = {"align": "left"}
TASK_COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Name", "field": "name", "sortable": True, **_LEFT},
    {"name": "namespace", "label": "Namespace", "field": "namespace", "sortable": True, **_LEFT},
    {"name": "version", "label": "Version", "field": "version", **_LEFT},
    {"name": "parameters", "label": "Inputs → outputs", "field": "parameters", **_LEFT},
    {"name": "delete", "label": "", "field": "key"},
]
PARAMETER_COLUMNS: list[dict[str, Any]] = [
    {"name": "side", "label": "", "field": "side", **_LEFT},
    {"name": "name", "label": "Name", "field": "name", **_LEFT},
    {"name": "type", "label": "Type", "field": "type", **_LEFT},
    {"name": "constraints", "label": "Constraints", "field": "constraints", **_LEFT},
    {"name": "default", "label": "Default", "field": "default", **_LEFT},
    {"name": "optional", "label": "Optional", "field": "optional", **_LEFT},
    {"name": "description", "label": "Description", "field": "description", **_LEFT},
]
RUN_COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "label": "Run", "field": "id", **_LEFT},
    {"name": "state", "label": "State", "field": "state", "sortable": True, **_LEFT},
    {"name": "created", "label": "Created", "field": "created", "sortable": True, **_LEFT},
    {"name": "updated", "label": "Updated", "field": "updated", "sortable": True, **_LEFT},
]
_TASK_CELL = """
<q-td :props="props"><q-btn dense flat no-caps align="left" class="text-left" :label="props.row.name"
  :aria-label="'Open task ' + props.row.namespace + ' ' + props.row.version"
  @click.stop="$parent.$emit('choose', props.row)" /></q-td>"""
_RUN_CELL = """
<q-td :props="props"><q-btn dense flat no-caps :label="props.row.id" :aria-label="'Show run ' + props.row.id"
  @click.stop="$parent.$emit('choose', props.row.id)" /></q-td>"""
_DELETE_CELL = """
<q-td :props="props"><q-btn dense flat no-caps color="negative" icon="delete" label="Delete"
  :aria-label="'Delete task ' + props.row.namespace + ' ' + props.row.version"
  @click.stop="$parent.$emit('delete', props.row)" /></q-td>"""


@page("/app-engine", "App Engine")
async def app_engine(session: Session, namespace: str = "", version: str = "", run: str = "") -> None:
    ui.label(
        "Tasks are container images with a descriptor of typed inputs and outputs (Cytomine's App Engine "
        "bundles). Upload a bundle, choose a task, fill in its inputs and start a run: its outputs and "
        "logs show here when it has run, and its job is on the Scheduling page."
    ).classes("text-gray-600")
    view = AppEngineView(session)
    await view.load_tasks()
    if namespace and version:
        await view.select_task(namespace, version, run=run)


class AppEngineView:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.task: dict[str, Any] | None = None
        self.runs: dict[str, dict[str, Any]] = {}
        """The task's runs shown, by id (each as ``get_app_run`` answered it)."""
        self.run_view: RunView | None = None
        self.form: RunForm | None = None
        self.run_table: ui.table | None = None
        self.run_area: ui.column | None = None
        with ui.row().classes("w-full items-start gap-4 flex-wrap lg:flex-nowrap"):
            with ui.column().classes("w-full lg:w-2/5 min-w-0 gap-2"):
                self.upload = ui.upload(
                    label="Upload a task bundle (zip)",
                    auto_upload=True,
                    max_file_size=MAX_BUNDLE_BYTES,
                    on_upload=self.uploaded,
                    on_rejected=self._too_large,
                ).props('accept=".zip" flat bordered aria-label="Upload a task bundle"')
                self.upload.classes("w-full max-w-full")
                self.upload.on("failed", self._failed)
                self.upload_error = (
                    ui.label()
                    .classes("text-negative text-sm")
                    .props('role="alert" aria-label="Upload error"')
                )
                self.tasks = ui.table(columns=TASK_COLUMNS, rows=[], row_key="key", pagination=15)
                self.tasks.classes("w-full").props(
                    'flat bordered dense wrap-cells aria-label="Tasks" no-data-label="No task yet."'
                )
                self.tasks.add_slot("body-cell-name", _TASK_CELL)
                self.tasks.add_slot("body-cell-delete", _DELETE_CELL)
                self.tasks.on("choose", lambda e: self.select_task(e.args["namespace"], e.args["version"]))
                self.tasks.on(
                    "rowClick", lambda e: self.select_task(e.args[1]["namespace"], e.args[1]["version"])
                )
                self.tasks.on("delete", lambda e: self.delete_task(e.args))
            self.panel = ui.column().classes("w-full lg:w-3/5 min-w-0 gap-3")
            with self.panel:
                ui.label("Choose a task for its inputs, outputs and runs.").classes("text-gray-600")
        self.timer = ui.timer(REFRESH_SECONDS, self.tick)
        ui.context.client.on_delete(self._closed)

    # -----------------------------------------------------------------------------------------------
    # Tasks

    async def load_tasks(self) -> None:
        try:
            listed = await call(self.session.client.list_app_tasks())
        except Refused:
            return
        listed.sort(key=lambda t: (t["namespace"], t["version"]))
        self._show_tasks(listed, ["…"] * len(listed))  # at once; their parameters come next
        readers = asyncio.Semaphore(READERS)

        async def parameters(number: int, task: dict[str, Any]) -> str:
            if number >= MAX_DETAILED_TASKS:
                return ""
            async with readers:
                try:
                    client = self.session.client
                    ins = await call(client.app_task_inputs(task["namespace"], task["version"]), quiet=True)
                    outs = await call(client.app_task_outputs(task["namespace"], task["version"]), quiet=True)
                except Refused:
                    return ""
            return f"{_signature(ins)} → {_signature(outs)}"

        self._show_tasks(
            listed, await asyncio.gather(*(parameters(n, task) for n, task in enumerate(listed)))
        )

    def _show_tasks(self, listed: list[dict[str, Any]], described: list[str]) -> None:
        self.tasks.rows = [
            {
                "key": f"{t['namespace']} {t['version']}",
                "name": t["name"],
                "namespace": t["namespace"],
                "version": t["version"],
                "parameters": text,
            }
            for t, text in zip(listed, described, strict=True)
        ]
        self.tasks.update()

    def _failed(self) -> None:
        self.upload_error.set_text(UPLOAD_FAILED)
        self.upload.reset()  # another file may be chosen

    def _too_large(self) -> None:
        self.upload_error.set_text(f"A bundle is at most {MAX_BUNDLE_BYTES // (1024 * 1024)} MB.")

    async def uploaded(self, event: events.UploadEventArguments) -> None:
        """A bundle chosen: sent to the API (Cytomine's message if refused), then shown."""
        self.upload_error.set_text("")
        if event.file.size() > MAX_BUNDLE_BYTES:  # the browser checks it; a hostile one may not
            self._too_large()
            self.upload.reset()
            return
        self.upload.props("disable")
        try:
            with tempfile.TemporaryDirectory(prefix="runyard-portal-") as folder:
                path = Path(folder) / "bundle.zip"
                await event.file.save(path)
                task = await call(self.session.client.upload_app_task(path), quiet=True)
        except Refused as refused:
            self.upload_error.set_text(f"{event.file.name}: {refused.text}")
            return
        finally:
            self.upload.props(remove="disable")
            self.upload.reset()
        ui.notify(f"Task {task['namespace']} {task['version']} uploaded")
        await self.load_tasks()
        await self.select_task(task["namespace"], task["version"])

    async def delete_task(self, row: dict[str, Any]) -> None:
        namespace, version = row["namespace"], row["version"]
        if not await confirm(
            f"Delete task {namespace} {version}?", "Delete", why="Its runs and their files are deleted too."
        ):
            return
        try:
            await call(self.session.client.delete_app_task(namespace, version))
        except Refused:
            return
        ui.notify(f"Task {namespace} {version} deleted")
        if self.task is not None and (self.task["namespace"], self.task["version"]) == (namespace, version):
            self._clear_panel("The task was deleted.")
            self._remember()
        await self.load_tasks()

    # -----------------------------------------------------------------------------------------------
    # One task

    async def select_task(self, namespace: str, version: str, *, run: str = "") -> None:
        client = self.session.client
        try:
            task = await call(client.get_app_task(namespace, version), quiet=True)
            inputs = await call(client.app_task_inputs(namespace, version), quiet=True)
            outputs = await call(client.app_task_outputs(namespace, version), quiet=True)
        except Refused as refused:
            self._clear_panel(f"Task {namespace} {version} cannot be shown: {refused.text}")
            return
        logo = await self._logo(namespace, version)
        self._clear_panel()
        self.task = task
        self.runs = {}
        with self.panel:
            with ui.row().classes("items-center gap-3 flex-wrap"):
                if logo is not None:
                    ui.image(logo).classes("w-12 h-12").props('alt="Task logo" fit="contain"')
                ui.label(task["name"]).classes("text-xl font-medium").props('aria-label="Task name"')
                ui.label(f"{task['namespace']} {task['version']}").classes("text-gray-600 break-all")
            if task.get("description"):
                ui.label(task["description"]).classes("whitespace-pre-wrap").props(
                    'aria-label="Task description"'
                )
            authors = [_author(a) for a in task.get("authors") or []]
            if authors:
                ui.label("By " + "; ".join(authors)).classes("text-gray-600 text-sm")
            table = ui.table(columns=PARAMETER_COLUMNS, rows=_parameters(inputs, outputs), row_key="key")
            table.classes("w-full").props('flat bordered dense wrap-cells aria-label="Parameters"')
            self.form = RunForm(self.session, namespace, version, inputs, self.started)
            ui.label("Runs").classes("font-medium")
            runs = self.run_table = ui.table(columns=RUN_COLUMNS, rows=[], row_key="id")
            runs.classes("w-full").props(
                'flat bordered dense aria-label="Runs" no-data-label="No run of yours yet."'
            )
            runs.add_slot("body-cell-state", state_cell())
            runs.add_slot("body-cell-id", _RUN_CELL)
            runs.on("choose", lambda e: self.select_run(e.args))
            runs.on("rowClick", lambda e: self.select_run(e.args[1]["id"]))
            self.run_area = ui.column().classes("w-full gap-2")
        await self.load_runs()
        self._remember(run)
        if run:
            await self.select_run(run)

    async def _logo(self, namespace: str, version: str) -> str | None:
        """The task's logo as a ``data:`` URL when its bundle had one (a PNG, not too large)."""
        try:
            data = await call(self.session.client.app_task_logo(namespace, version), quiet=True)
        except Refused:
            return None  # none (or unreadable): the task shows without it
        if not data.startswith(PNG) or len(data) > MAX_LOGO_BYTES:
            return None
        return "data:image/png;base64," + base64.b64encode(data).decode()

    def _closed(self) -> None:
        """The page closed: no reading left running, no file kept."""
        if self.run_view is not None:
            self.run_view.close()
        if self.form is not None:
            self.form.close()

    def _clear_panel(self, message: str = "") -> None:
        self.close_run()
        if self.form is not None:
            self.form.close()
            self.form = None
        self.task = None
        self.run_table = self.run_area = None
        self.panel.clear()
        if message:
            with self.panel:
                ui.label(message).classes("text-negative").props('role="alert"')

    async def load_runs(self) -> None:
        """The task's runs (the newest first), each read in full while it has not ended."""
        if self.task is None:
            return
        task = self.task
        try:
            listed = await call(
                self.session.client.list_app_runs(task["namespace"], task["version"]), quiet=True
            )
        except Refused:
            return
        newest = list(reversed(listed))[:MAX_RUNS]
        readers = asyncio.Semaphore(READERS)

        async def detail(run: dict[str, Any]) -> dict[str, Any] | None:
            known = self.runs.get(run["id"])
            if known is not None and known["state"] == run["state"] and known["state"] in RUN_ENDED:
                return known
            async with readers:
                with suppress(Refused):  # deleted meanwhile
                    detailed: dict[str, Any] = await call(
                        self.session.client.get_app_run(run["id"]), quiet=True
                    )
                    return detailed
            return None

        found = await asyncio.gather(*(detail(run) for run in newest))
        if self.task is not task:
            return  # another task was chosen meanwhile
        self.runs = {run["id"]: run for run in found if run is not None}
        self._show_runs()

    def _show_runs(self) -> None:
        if self.run_table is None:
            return
        rows = [
            {
                "id": run["id"],
                "state": run["state"],
                "created": iso_moment(run.get("createdAt")),
                "updated": iso_moment(run.get("updatedAt")),
            }
            for run in self.runs.values()
        ]
        self.run_table.rows = rows
        self.run_table.update()

    async def tick(self) -> None:
        if self.task is not None and any(run["state"] not in RUN_ENDED for run in self.runs.values()):
            await self.load_runs()

    async def started(self, run: dict[str, Any]) -> None:
        """A run the form started: listed and shown."""
        await self.load_runs()
        await self.select_run(run["id"])

    # -----------------------------------------------------------------------------------------------
    # One run

    async def select_run(self, run_id: str) -> None:
        self.close_run()
        if self.run_area is None:
            return
        self._remember(run_id)
        with self.run_area:
            view = self.run_view = RunView(self.session, run_id, self.run_changed)
        await view.refresh()

    def close_run(self) -> None:
        if self.run_view is not None:
            self.run_view.close()
            self.run_view = None
        if self.run_area is not None:
            self.run_area.clear()

    async def run_changed(self, run: dict[str, Any] | None) -> None:
        """The run shown was read again (None: deleted): its row follows."""
        shown = self.run_view
        if shown is None:
            return
        if run is None:
            self.runs.pop(shown.run_id, None)
            self._remember()
        elif run["id"] in self.runs:
            self.runs[run["id"]] = run
        else:
            return
        self._show_runs()

    def _remember(self, run: str = "") -> None:
        """The task and run shown, in the URL (bookmarkable)."""
        if self.task is None:
            ui.navigate.history.replace("/app-engine")
            return
        query = {"namespace": self.task["namespace"], "version": self.task["version"]}
        if run:
            query["run"] = run
        ui.navigate.history.replace(f"/app-engine?{urlencode(query)}")


def _signature(parameters: list[dict[str, Any]]) -> str:
    """``a: integer, b: integer``."""
    return ", ".join(f"{p['name']}: {type_text(p['type'])}" for p in parameters) or "—"


def _parameters(inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for side, parameters in (("input", inputs), ("output", outputs)):
        for p in parameters:
            default = p.get("default")
            rows.append(
                {
                    "key": f"{side} {p['name']}",
                    "side": side,
                    "name": p["name"],
                    "type": type_text(p["type"]),
                    "constraints": constraints_text(p["type"]),
                    "default": "" if default in (None, "null") else str(default),
                    "optional": "yes" if side == "input" and p.get("optional") else "",
                    "description": p.get("description") or "",
                }
            )
    return rows


def _author(author: dict[str, Any]) -> str:
    name = " ".join(part for part in (author.get("firstName"), author.get("lastName")) if part)
    return f"{name} ({author['organization']})" if author.get("organization") else name
