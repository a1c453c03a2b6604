"""``/``: where the portal lands, one card per portal."""

from __future__ import annotations

from nicegui import ui

from runyard import __version__
from runyard.web.layout import NAVIGATION, page
from runyard.web.sessions import Session

_ABOUT = {
    "/workflows": "Pick a workflow from the catalog or a file, fill in its variables, submit it.",
    "/jobs": "Jobs and their tasks, live: graphs, logs, results, and what you can do to them.",
    "/plans": "Plan catalog workflows on a cron expression or a calendar: submitted as you, on time.",
    "/resources": "Nodes and node sources: what runs where, locks and tokens.",
    "/catalog": "Buckets of workflows and their revisions: compare, restore, upload.",
    "/services": "Start services, follow their instances, run their actions, finish them.",
    "/app-engine": "Upload Cytomine App Engine task bundles, run them with typed inputs, read their outputs.",
    "/analytics": "Search finished jobs, chart their durations, variables and results.",
    "/studio": "Open, edit and validate a workflow as a graph and as text; save or submit it.",
    "/notifications": "What the platform and your services have told you (drift and others).",
    "/credentials": "Your third-party credentials, given to your tasks by name.",
}


@page("/", "runyard")
async def home(session: Session) -> None:
    ui.label(f"Welcome, {session.user}. runyard {__version__}.").classes("text-gray-600")
    with ui.element("div").classes("grid gap-3 w-full grid-cols-[repeat(auto-fill,minmax(16rem,1fr))]"):
        for label, path, icon in NAVIGATION:
            with (
                ui.link(target=path).classes("no-underline text-inherit"),
                ui.card().classes("h-full hover:shadow-lg"),
            ):
                with ui.row().classes("items-center"):
                    ui.icon(icon, size="md").classes("text-primary")
                    ui.label(label).classes("text-lg font-medium")
                ui.label(_ABOUT[path]).classes("text-gray-600")
