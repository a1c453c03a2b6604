"""``/jobs``: the Scheduling jobs table, paged and sorted by the API (100,000 jobs cost the same as 10),
filtered as ``GET /jobs`` filters, its rows kept live by job events; the URL holds filters, sort and page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from nicegui import background_tasks, ui
from nicegui.events import ValueChangeEventArguments

from runyard.client.documents import JobSummary, StreamEvent
from runyard.web import job_status
from runyard.web.calls import Refused, call
from runyard.web.job_query import PAGE_SIZES, JobQuery
from runyard.web.labels import labelled
from runyard.web.layout import page
from runyard.web.live import RESET, SUBSCRIBED, follow
from runyard.web.sessions import Session

#: Events closer together than this reread the page once more, not once each (a busy platform sends many).
REFRESH_SECONDS = 0.5
_MOMENT = "v => v == null ? '' : new Date(v * 1000).toISOString().slice(0, 19).replace('T', ' ')"
COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "label": "Id", "field": "id", "sortable": True, "align": "right"},
    {"name": "name", "label": "Name", "field": "name", "sortable": True, "align": "left"},
    {"name": "owner", "label": "Owner", "field": "owner", "sortable": True, "align": "left"},
    {"name": "project_name", "label": "Project", "field": "project_name", "sortable": True, "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "sortable": True, "align": "left"},
    {"name": "tasks", "label": "Tasks done", "field": "tasks", "align": "left"},
    {"name": "priority", "label": "Priority", "field": "priority", "sortable": True, "align": "left"},
    *(
        {"name": key, "label": label, "field": key, "sortable": True, "align": "left", ":format": _MOMENT}
        for key, label in (
            ("submitted_at", "Submitted (UTC)"),
            ("started_at", "Started"),
            ("finished_at", "Finished"),
        )
    ),
]
_ID_CELL = """<q-td :props="props"><a :href="'/jobs/' + props.row.id" class="text-primary"
  :aria-label="'Job ' + props.row.id">{{ props.value }}</a></q-td>"""
_NAME_CELL = """<q-td :props="props">
  <a :href="'/jobs/' + props.row.id" class="text-primary">{{ props.value }}</a></q-td>"""
#: Tasks that will not run again, of all the job's tasks (SKIPPED counts as done).
_ENDED_TASKS = ("FINISHED", "SKIPPED", "FAULTY", "FAILED", "ABORTED", "NOT_STARTED", "NOT_RESTARTED")


@page("/jobs", "Scheduling")
async def jobs(session: Session, request: Request) -> None:
    shown = JobQuery.parse(dict(request.query_params))
    if not session.admin:
        shown = shown.replace(owner="")  # the API lists a user's own jobs only
    form = ui.row().classes("w-full items-end gap-2")
    counts = ui.row().classes("gap-1 items-center").props('aria-label="Jobs by status"')
    table = (
        ui.table(columns=COLUMNS, rows=[], row_key="id", pagination=_pagination(shown, 0))
        .classes("w-full")
        .props('aria-label="Jobs" flat bordered')
        .props("no-data-label='No job matches these filters.'")
    )
    table.props["rows-per-page-options"] = list(PAGE_SIZES)
    table.add_slot("body-cell-id", _ID_CELL)
    table.add_slot("body-cell-name", _NAME_CELL)
    table.add_slot("body-cell-status", job_status.cell())
    refreshing = pending = False
    total = 0

    def keep_total(change: ValueChangeEventArguments[dict[str, Any]]) -> None:
        """Quasar reports its pagination back with the count it had: the API's count stays."""
        if change.value.get("rowsNumber") != total:
            table.pagination = {**change.value, "rowsNumber": total}

    table.on_pagination_change(keep_total)

    async def reload() -> None:
        table.props("loading")
        try:
            listed, by_status = await asyncio.gather(
                call(
                    session.client.list_jobs(
                        status=shown.statuses,
                        sort=shown.sort_param,
                        limit=shown.rows,
                        offset=(shown.page - 1) * shown.rows,
                        **shown.filters(),
                    )
                ),
                call(session.client.count_job_statuses(**shown.filters()), quiet=True),
            )
        except Refused:
            return  # the person has been told
        finally:
            table.props(remove="loading")
        nonlocal total
        total = listed["total"]
        table.rows = [_row(job) for job in listed["jobs"]]
        table.pagination = _pagination(shown, total)
        table.update()
        counts.clear()
        with counts:
            _status_counts(by_status, shown, toggle)

    async def show(changed: JobQuery) -> None:
        """Read what ``changed`` asks for and make it the URL (no reload: the page stays)."""
        nonlocal shown
        shown = changed
        ui.navigate.history.replace(changed.url())
        await reload()

    async def refine(**filters: Any) -> None:
        """Show the first page of what these filters keep, unless they are the ones shown."""
        changed = shown.replace(**filters, page=1)
        if changed.replace(page=shown.page) != shown:
            await show(changed)

    def toggle(status: str) -> None:
        """Keep jobs of ``status`` too, or no longer (through the status field: it shows the filter)."""
        others = [s for s in shown.statuses if s != status]
        statuses.set_value(others if status in shown.statuses else [*others, status])

    async def on_request(pagination: dict[str, Any]) -> None:
        rows = int(pagination.get("rowsPerPage") or shown.rows)
        sort = pagination.get("sortBy")
        await show(
            shown.replace(
                sort=sort or "id",
                descending=bool(pagination.get("descending")) if sort else True,
                page=int(pagination.get("page") or 1) if rows == shown.rows else 1,
                rows=rows,
            )
        )

    table.on("request", lambda e: on_request(e.args), js_handler="(p) => emit(p.pagination)")

    async def refresh_soon() -> None:
        """Read the page again now, and once more after a burst of events (at most every
        ``REFRESH_SECONDS``)."""
        nonlocal refreshing, pending
        pending = True
        if refreshing:
            return
        refreshing = True
        try:
            while pending:
                pending = False
                await reload()
                await asyncio.sleep(REFRESH_SECONDS)
        finally:
            refreshing = False

    async def on_event(event: StreamEvent) -> None:
        if event["kind"] in (SUBSCRIBED, RESET):
            await reload()
        elif event["kind"] == "job":
            # the status at once, in place; then times, task counts and new jobs by reading the page again
            table.rows = [
                {**r, "status": event["status"]} if r["id"] == event["job_id"] else r for r in table.rows
            ]
            table.update()
            background_tasks.create(refresh_soon(), name="jobs table refresh")
        elif event["kind"] == "task" and any(r["id"] == event.get("job_id") for r in table.rows):
            background_tasks.create(refresh_soon(), name="jobs table refresh")

    with form:
        statuses = _filter_form(session, shown, refine)
    await reload()  # in the page as sent: no wait for the browser's connection to fill the table
    follow(session, on_event)  # read again once subscribed: what changed in between is not missed


def _pagination(shown: JobQuery, total: int) -> dict[str, Any]:
    return {
        "page": shown.page,
        "rowsPerPage": shown.rows,
        "sortBy": shown.sort,
        "descending": shown.descending,
        "rowsNumber": total,
    }


def _row(job: JobSummary) -> dict[str, Any]:
    counts = job["task_counts"]
    ended = sum(counts.get(status, 0) for status in _ENDED_TASKS)
    return {**job, "tasks": f"{ended}/{sum(counts.values())}"}


def _status_counts(by_status: dict[str, int], shown: JobQuery, toggle: Callable[[str], None]) -> None:
    """How many jobs have each status, each a button keeping (or no longer keeping) that status only."""
    ui.label(f"{sum(by_status.values())} jobs:").classes("text-gray-600")
    for status in job_status.JOB_STATUSES:
        if by_status.get(status):
            chosen = status in shown.statuses
            button = ui.button(
                f"{by_status[status]} {status}",
                color=job_status.COLOURS[status],
                on_click=lambda s=status: toggle(s),
            ).props("dense no-caps size=sm" if chosen else "dense no-caps size=sm outline")
            button.props["aria-pressed"] = "true" if chosen else "false"


def _filter_form(session: Session, shown: JobQuery, refine: Callable[..., Awaitable[None]]) -> ui.select:
    """The API's filters, each applied when changed (text fields on Enter or when left); returns the
    status field."""
    status = (
        ui.select(list(job_status.JOB_STATUSES), multiple=True, value=list(shown.statuses), label="Status")
        .props('dense outlined use-chips clearable aria-label="Status"')
        .classes("min-w-[12rem]")
    )
    name = _text_field("Name", shown.name, "* matches anything")
    project = _text_field("Project", shown.project, "* matches anything")
    owner = _text_field("Owner", shown.owner, "user name") if session.admin else None
    after = _text_field("Submitted from", shown.after, "").props("type=date stack-label")
    before = _text_field("Submitted until", shown.before, "").props("type=date stack-label")

    async def apply() -> None:
        await refine(
            statuses=tuple(status.value or ()),
            name=(name.value or "").strip(),
            project=(project.value or "").strip(),
            owner=(owner.value or "").strip() if owner else "",
            after=after.value or "",
            before=before.value or "",
        )

    for field in (status, after, before):
        field.on_value_change(apply)
    for text in (name, project, owner):
        if text is not None:
            text.on("keydown.enter", apply)
            text.on("blur", apply)
            text.on("clear", apply)

    async def clear() -> None:
        for field in (name, project, owner, after, before):
            if field is not None:
                field.set_value("")
        status.set_value([])
        await apply()

    ui.button("Clear filters", icon="filter_alt_off", on_click=clear).props("flat dense no-caps")
    return status


def _text_field(label: str, value: str, placeholder: str) -> ui.input:
    field = ui.input(label, value=value, placeholder=placeholder or None)
    return labelled(field, label).props("dense outlined clearable").classes("w-40")
