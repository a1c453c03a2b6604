"""``/jobs/{id}``: one job, live from its events — the task graph, the tasks, the output, the results,
the variables and the actions (``?task=NAME`` selects a task: its output and result)."""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from urllib.parse import quote

from nicegui import ui

from runyard.client import ApiError
from runyard.client.documents import Job, JobEndpoints, JobGraph, StreamEvent, Task
from runyard.model import JobStatus
from runyard.web.calls import Refused, call
from runyard.web.flow_graph import Edge, FlowGraph
from runyard.web.job_actions import JobActions
from runyard.web.job_logs import LogPanel
from runyard.web.job_signals import SignalsPanel
from runyard.web.job_status import COLOURS, badge, cell
from runyard.web.labels import labelled
from runyard.web.layout import page
from runyard.web.live import RESET, SUBSCRIBED, follow
from runyard.web.sessions import Session
from runyard.web.task_results import show_result, text_block
from runyard.web.times import moment

COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Task", "field": "name", "sortable": True, "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "sortable": True, "align": "left"},
    {"name": "node", "label": "Node", "field": "node", "align": "left"},
    {"name": "started", "label": "Started", "field": "started", "sortable": True, "align": "left"},
    {"name": "finished", "label": "Finished", "field": "finished", "sortable": True, "align": "left"},
    {"name": "duration", "label": "Duration", "field": "duration", "sortable": True, "align": "right"},
    {"name": "executions", "label": "Executions", "field": "executions", "align": "right"},
]
#: Tasks whose results are shown when none is chosen.
MAX_RESULTS = 20
#: The status colours of job_status (Quasar's names) as CSS colours, for the graph's canvas.
_CSS = {
    "grey-5": "#9e9e9e",
    "grey-6": "#757575",
    "grey-7": "#616161",
    "warning": "#f2c037",
    "primary": "#1976d2",
    "deep-orange": "#ff5722",
    "positive": "#21ba45",
    "negative": "#c10015",
}


@page("/jobs/{job_id}", "Job")
async def job_page(session: Session, job_id: int, task: str = "") -> None:
    try:
        job = await call(session.client.get_job(job_id), quiet=True)
    except Refused as refused:
        _missing(job_id, refused.text)
        return
    await JobView(session, job, task).start()


def _missing(job_id: int, why: str) -> None:
    with ui.card().classes("p-4").props('role="alert"'):
        ui.label(f"Job {job_id} cannot be shown: {why}").classes("text-lg text-negative")
        ui.link("Back to the jobs", "/jobs")


class JobView:
    def __init__(self, session: Session, job: Job, task: str) -> None:
        self.session = session
        self.job = job
        self.job_id = job["id"]
        self.selected = task
        self.task_graph: JobGraph | None = None
        self.body = ui.column().classes("w-full gap-3")
        with self.body:
            with ui.row().classes("items-center gap-3 flex-wrap"):
                self.status = ui.row()
                ui.label(job["name"]).classes("text-xl font-medium").props('aria-label="Job name"')
                ui.label(f"#{self.job_id} · {job['owner']}").classes("text-gray-600")
            self.facts = ui.label().classes("text-gray-600 text-sm")
            self.links = ui.row().classes("items-center gap-3 flex-wrap")
            self.actions = JobActions(session, self.job_id, self.reload)
            with ui.row().classes("w-full gap-3 flex-wrap lg:flex-nowrap"):
                with ui.card().classes("grow basis-96 min-w-0 p-2"):
                    self.graph = FlowGraph(self.select)
                with ui.card().classes("grow basis-96 min-w-0 p-2"):
                    self.table = ui.table(columns=COLUMNS, rows=[], row_key="name").classes("w-full")
                    self.table.props('dense flat aria-label="Tasks"')
                    self.table.add_slot("body-cell-status", cell())
                    self.table.on("rowClick", lambda e: self.select(e.args[1]["name"]))
            with ui.tabs().classes("w-full") as tabs:
                logs_tab = ui.tab("Output")
                results_tab = ui.tab("Results")
                variables_tab = ui.tab("Variables")
                signals_tab = ui.tab("Signals")
            with ui.tab_panels(tabs, value=logs_tab).classes("w-full"):
                with ui.tab_panel(logs_tab):
                    self.logs = LogPanel(session.client, self.job_id)
                with ui.tab_panel(results_tab):
                    self.results = ui.column().classes("w-full gap-2")
                with ui.tab_panel(variables_tab):
                    self.variables = ui.column().classes("w-full gap-2")
                with ui.tab_panel(signals_tab):
                    self.signals = SignalsPanel(session, self.job_id)

    async def start(self) -> None:
        """Show what was read, then follow the job (its output and results come once subscribed)."""
        await self.show(self.job, graph=True)
        follow(self.session, self.heard, job_id=self.job_id, logs=True)

    async def heard(self, event: StreamEvent) -> None:
        kind = event["kind"]
        if kind in (SUBSCRIBED, RESET):
            await self.reload(logs=True)
            await self._signals()
        elif kind == "signal":
            await self._signals()
        elif kind == "log":
            self.logs.heard(event)
        elif kind == "task":
            task = event.get("task")
            appeared = task not in {t["name"] for t in self.job["tasks"]}  # a replica or an iteration
            await self.reload(graph=appeared, results=task == self.selected or not self.selected)
        elif kind == "job":
            await self.reload(graph=False)
            await self._signals()

    async def _signals(self) -> None:
        await self.signals.load(alive=JobStatus(self.job["status"]).is_alive)

    async def reload(self, *, logs: bool = False, graph: bool = True, results: bool = True) -> None:
        """Read the job again (after an event, an action); ``logs``, ``graph``, ``results`` too."""
        try:
            self.job = await call(self.session.client.get_job(self.job_id), quiet=True)
        except Refused as refused:
            if isinstance(refused.error, ApiError) and refused.error.status == 404:
                self.gone()
            return
        await self.show(self.job, graph=graph)
        if logs:
            with suppress(Refused):  # the person has been told; the events go on
                await self.logs.load(self.job["tasks"])
            self.logs.choose(self.selected)
        if results:
            await self.show_result()

    async def show(self, job: Job, *, graph: bool) -> None:
        self.status.clear()
        with self.status:
            badge(job["status"])
        parent = f" · submitted by job {job['parent_id']}" if job["parent_id"] else ""
        self.facts.text = (
            f"Project {job['project_name'] or '—'} · priority {job['priority']} · submitted "
            f"{moment(job['submitted_at'])} · started {moment(job['started_at']) or '—'} · "
            f"finished {moment(job['finished_at']) or '—'}{parent}"
        )
        self.actions.allow(job)
        self.table.rows = [_row(t) for t in job["tasks"]]
        self.table.update()
        self._variables(job)
        with suppress(Refused):  # the person has been told
            self._links(await call(self.session.client.get_job_endpoints(self.job_id), quiet=True))
        if graph:
            with suppress(Refused):  # the person has been told
                self.task_graph = await call(self.session.client.get_job_graph(self.job_id))
        self._draw()

    def _draw(self) -> None:
        if self.task_graph is None:
            return
        colours = {t["name"]: _CSS.get(COLOURS.get(t["status"], ""), "") for t in self.job["tasks"]}
        self.graph.draw(
            [t["name"] for t in self.task_graph["tasks"]],
            [Edge(e["source"], e["target"], e["kind"]) for e in self.task_graph["edges"]],
            selected=self.selected or None,
            colours={name: colour for name, colour in colours.items() if colour},
        )

    def _links(self, found: JobEndpoints) -> None:
        """The job's external endpoints (``schedulerapi.addExternalEndpointUrl``): http(s) URLs only, as the
        server keeps them, opened in a new tab that cannot reach this page."""
        self.links.clear()
        with self.links:
            for endpoint in found["endpoints"]:
                link = ui.link(endpoint["name"], endpoint["url"], new_tab=True)
                link.props["rel"] = "noopener noreferrer"
                labelled(link, f"Endpoint {endpoint['name']}")

    def _variables(self, job: Job) -> None:
        self.variables.clear()
        with self.variables:
            rows = [{"name": k, "value": str(v)} for k, v in sorted(job["variables"].items())]
            columns = [
                {"name": "name", "label": "Variable", "field": "name", "align": "left"},
                {"name": "value", "label": "Value", "field": "value", "align": "left"},
            ]
            ui.table(columns=columns, rows=rows, row_key="name").props('dense flat aria-label="Variables"')

    async def select(self, task: str) -> None:
        """Show ``task``'s output and result (its name in the URL: bookmarkable)."""
        self.selected = task
        self.logs.choose(task)
        self._draw()
        query = f"?task={quote(task, safe='')}" if task else ""
        ui.navigate.history.replace(f"/jobs/{self.job_id}{query}")
        await self.show_result()

    async def show_result(self) -> None:
        tasks = self.job["tasks"]
        chosen = [t for t in tasks if t["name"] == self.selected] or tasks[:MAX_RESULTS]
        self.results.clear()
        with self.results:
            if self.job["result_map"]:
                ui.label("Result map").classes("font-medium")
                await show_result(self.session.client, self.job["result_map"])
            if len(chosen) < len(tasks) and not self.selected:
                ui.label(f"The first {MAX_RESULTS} tasks; choose a task for its result.").classes(
                    "text-gray-600"
                )
            for found in chosen:
                _result_heading(found)
                if found["error"]:
                    text_block(found["error"], label=f"Error of {found['name']}")
                if found["status"] == "FINISHED":
                    await show_result(self.session.client, found["result"])

    def gone(self) -> None:
        self.body.clear()
        with self.body:
            _missing(self.job_id, "it was deleted.")


def _row(task: Task) -> dict[str, Any]:
    started, finished = task["started_at"], task["finished_at"]
    duration = f"{finished - started:.1f} s" if started is not None and finished is not None else ""
    return {
        "name": task["name"],
        "status": task["status"],
        "node": task["node"] or "",
        "started": moment(started),
        "finished": moment(finished),
        "duration": duration,
        "executions": task["executions"],
    }


def _result_heading(task: Task) -> None:
    with ui.row().classes("items-center gap-2"):
        ui.label(task["name"]).classes("font-medium")
        badge(task["status"])
