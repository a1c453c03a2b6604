"""``/plans``: the Job Planner: catalog workflows submitted on a cron expression or a calendar, as you.

Make a plan (pick a workflow, fill in its variables form, write its schedule, preview its next times),
pause, resume or delete one, read its runs (each time handled: the job, or why there is none). The
table is read again when a job event arrives (a planned job was just submitted), never polled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from nicegui import ui

from runyard.client.documents import StreamEvent
from runyard.client.plans import Plan
from runyard.web.calls import Refused, call
from runyard.web.confirm import confirm
from runyard.web.labels import labelled
from runyard.web.layout import page
from runyard.web.live import follow
from runyard.web.sessions import Session
from runyard.web.times import moment
from runyard.web.variables_form import VariablesForm

#: How many workflows of one bucket the picker offers at most.
PER_BUCKET = 1000
MISSED = {
    "skip": "Skip the times missed while the server was down",
    "run-once": "Run the latest missed time once",
    "run-all": "Run every missed time (at most 100)",
}
COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Plan", "field": "name", "sortable": True, "align": "left"},
    {"name": "workflow", "label": "Workflow", "field": "workflow", "sortable": True, "align": "left"},
    {"name": "schedule", "label": "Schedule", "field": "schedule", "align": "left"},
    {"name": "next", "label": "Next run", "field": "next", "sortable": True, "align": "left"},
    {"name": "owner", "label": "Owner", "field": "owner", "sortable": True, "align": "left"},
    {"name": "actions", "label": "", "field": "id"},
]
RUN_COLUMNS: list[dict[str, Any]] = [
    {"name": "time", "label": "Time", "field": "time", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "job", "label": "Job", "field": "job", "align": "left"},
    {"name": "error", "label": "Error", "field": "error", "align": "left", "classes": "whitespace-normal"},
]
_ACTIONS_CELL = """
<q-td :props="props">
  <q-btn dense flat no-caps :icon="props.row.paused ? 'play_arrow' : 'pause'"
    :label="props.row.paused ? 'Resume' : 'Pause'"
    :aria-label="(props.row.paused ? 'Resume ' : 'Pause ') + props.row.name"
    @click="$parent.$emit(props.row.paused ? 'resume' : 'pause', props.row.id)" />
  <q-btn dense flat no-caps icon="history" label="Runs" :aria-label="'Runs of ' + props.row.name"
    @click="$parent.$emit('runs', props.row.id)" />
  <q-btn dense flat no-caps icon="delete" label="Delete" color="negative"
    :aria-label="'Delete ' + props.row.name" @click="$parent.$emit('delete', props.row.id)" />
</q-td>"""
_JOB_CELL = """
<q-td :props="props">
  <a v-if="props.value" :href="'/jobs/' + props.value" class="text-primary">{{ props.value }}</a>
</q-td>"""


@page("/plans", "Job Planner")
async def plans(session: Session) -> None:
    ui.label(
        "Plan a catalog workflow: it is submitted as you on a cron expression or a calendar of dates, "
        "with the variables you give (checked now and at each submission)."
    ).classes("text-gray-600")
    with ui.expansion("New plan", icon="add").classes("w-full max-w-4xl border rounded") as creating:
        form_area = ui.column().classes("w-full gap-2")
    table = ui.table(columns=COLUMNS, rows=[], row_key="id", pagination=20).classes("w-full")
    table.props('aria-label="Plans" flat bordered no-data-label="No plan yet."')
    table.add_slot("body-cell-actions", _ACTIONS_CELL)

    async def reload() -> None:
        with suppress(Refused):
            found = await call(session.client.list_plans())
            table.rows = [_row(plan) for plan in found["plans"]]
            table.update()

    async def act(action: str, plan_id: int) -> None:
        if action == "delete" and not await confirm(
            f"Delete plan {plan_id}?", "Delete", why="Its runs go too; its jobs stay."
        ):
            return
        operation = {
            "pause": session.client.pause_plan,
            "resume": session.client.resume_plan,
            "delete": session.client.delete_plan,
        }[action]
        with suppress(Refused):
            await call(operation(plan_id))
            await reload()

    async def created() -> None:
        """Back to an empty form, folded: the new plan is in the table."""
        creating.close()
        form_area.clear()
        await _new_plan_form(session, form_area, created)
        await reload()

    await _new_plan_form(session, form_area, created)
    for action in ("pause", "resume", "delete"):
        table.on(action, lambda e, action=action: act(action, int(e.args)))
    table.on("runs", lambda e: _show_runs(session, int(e.args)))

    async def on_event(event: StreamEvent) -> None:
        if event["kind"] in ("subscribed", "reset") or (
            event["kind"] == "job" and event.get("status") == "PENDING"
        ):
            await reload()

    follow(session, on_event)


async def _new_plan_form(session: Session, area: ui.column, created: Callable[[], Awaitable[None]]) -> None:
    """The form making a plan: workflow picker, its variables, the schedule, the missed-times policy."""
    with area:
        workflows = await _workflow_choices(session)
        picker = labelled(
            ui.select(workflows, label="Workflow", with_input=True).classes("w-full max-w-xl"), "Workflow"
        )
        variables_area = ui.column().classes("w-full gap-1")
        name = labelled(ui.input("Plan name (optional)"), "Plan name").classes("w-full max-w-xl")
        kind = ui.toggle({"cron": "Cron expression", "dates": "Calendar"}, value="cron")
        cron = labelled(ui.input("Cron expression", placeholder="0 9 * * 1-5"), "Cron expression")
        cron.classes("w-full max-w-xl")
        dates = labelled(
            ui.textarea("Dates, one a line", placeholder="2026-12-24T18:00"), "Calendar dates"
        ).classes("w-full max-w-xl")
        exclusions = labelled(
            ui.textarea(
                "Exclusions, one a line", placeholder="2026-12-25 or 2026-12-31T12:00/2027-01-02T00:00"
            ),
            "Exclusions",
        ).classes("w-full max-w-xl")
        with ui.row().classes("gap-2 flex-wrap"):
            timezone = labelled(ui.input("Time zone", value="UTC"), "Time zone")
            start = labelled(ui.input("Start (optional)", placeholder="2026-12-01T00:00"), "Start")
            end = labelled(ui.input("End (optional)", placeholder="2027-06-30T00:00"), "End")
        missed = labelled(ui.select(MISSED, value="skip", label="Missed times"), "Missed times")
        missed.classes("w-full max-w-xl")
        preview = ui.column().classes("gap-0 text-sm").props('aria-label="Next times"')
        problems = ui.column().classes("gap-0 text-negative").props('role="alert" aria-label="Problems"')
        dates.bind_visibility_from(kind, "value", value="dates")
        cron.bind_visibility_from(kind, "value", value="cron")
        form: VariablesForm | None = None

        def schedule() -> dict[str, Any]:
            return {
                "cron": cron.value.strip() if kind.value == "cron" else None,
                "dates": _lines(dates.value) if kind.value == "dates" else [],
                "exclusions": _lines(exclusions.value),
                "timezone": timezone.value.strip() or "UTC",
                "start": start.value.strip() or None,
                "end": end.value.strip() or None,
            }

        async def pick(choice: str | None) -> None:
            nonlocal form
            variables_area.clear()
            form = None
            if not choice:
                return
            bucket, _, workflow = choice.partition("/")
            try:
                checked = await call(session.client.validate_catalog_submission(bucket, workflow, {}))
            except Refused:
                return
            if checked["workflow"] is not None:
                with variables_area:
                    form = VariablesForm(session, checked["workflow"]["variables"])

        async def show_preview() -> None:
            preview.clear()
            _problems(problems, [])
            try:
                times = await call(session.client.preview_schedule(**schedule(), count=5), quiet=True)
            except Refused as refused:
                _problems(problems, [refused.text])
                return
            with preview:
                ui.label("Next times:" if times else "No time left in this schedule.")
                for time in times:
                    ui.label(moment(time))

        async def create() -> None:
            _problems(problems, [])
            if not picker.value:
                _problems(problems, ["Choose a workflow."])
                return
            bucket, _, workflow = str(picker.value).partition("/")
            values = form.values() if form is not None else {}
            try:
                plan = await call(
                    session.client.create_plan(
                        bucket,
                        workflow,
                        **schedule(),
                        variables=values,
                        plan_name=name.value.strip() or None,
                        missed=missed.value,
                    ),
                    quiet=True,
                )
            except Refused as refused:
                if form is None or not form.show_problems(refused):
                    _problems(problems, [refused.text])
                return
            ui.notify(
                f"Plan {plan['id']} created; next run {moment(plan['next_at']) or 'none'}", type="positive"
            )
            await created()

        picker.on_value_change(lambda e: pick(e.value))
        with ui.row().classes("gap-2"):
            ui.button("Create plan", icon="event", on_click=create)
            ui.button("Preview times", icon="schedule", on_click=show_preview).props("flat")


async def _workflow_choices(session: Session) -> dict[str, str]:
    """``bucket/name`` of every workflow the person may read."""
    with suppress(Refused):
        buckets = await call(session.client.list_buckets(kind="workflow"))
        pages = await asyncio.gather(
            *(
                call(session.client.list_objects(b["name"], kind="workflow", limit=PER_BUCKET))
                for b in buckets
            )
        )
        keys = sorted(f"{r['bucket']}/{r['name']}" for listed in pages for r in listed["objects"])
        return {key: key for key in keys}
    return {}


async def _show_runs(session: Session, plan_id: int) -> None:
    try:
        found = await call(session.client.list_plan_runs(plan_id, limit=100))
    except Refused:
        return
    rows = [
        {
            "key": run["scheduled_at"],
            "time": moment(run["scheduled_at"]),
            "status": run["status"],
            "job": run["job_id"],
            "error": run["error"] or "",
        }
        for run in found["runs"]
    ]
    with ui.dialog() as dialog, labelled(ui.card().classes("w-full max-w-4xl"), f"Runs of plan {plan_id}"):
        ui.label(f"Runs of plan {plan_id}").classes("text-lg")
        table = ui.table(columns=RUN_COLUMNS, rows=rows, row_key="key", pagination=20).classes("w-full")
        table.props('flat dense no-data-label="No run yet."')
        table.props["aria-label"] = "Runs"
        table.add_slot("body-cell-job", _JOB_CELL)
        ui.button("Close", on_click=dialog.close).props("flat")
    dialog.open()


def _row(plan: Plan) -> dict[str, Any]:
    schedule = plan["schedule"]
    when = f"cron {schedule['cron']}" if schedule["cron"] else f"{len(schedule['dates'])} dates"
    return {
        "id": plan["id"],
        "name": plan["name"],
        "workflow": f"{plan['catalog']['bucket']}/{plan['catalog']['name']}",
        "schedule": f"{when} ({schedule['timezone']})",
        "next": "paused" if plan["paused"] else moment(plan["next_at"]) or "none",
        "owner": plan["owner"],
        "paused": plan["paused"],
    }


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _problems(area: ui.column, messages: list[str]) -> None:
    area.clear()
    with area:
        for message in messages:
            ui.label(message)
