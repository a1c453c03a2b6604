"""``runyard plan``: catalog workflows submitted on a schedule, as you (docs/job-planner.md).

``create BUCKET/NAME`` with ``--cron EXPR`` or ``--date`` (repeated, or ``--dates-file``), then ``list``,
``show``, ``pause``, ``resume``, ``delete`` and ``runs`` (each time handled: its job, or why there is none).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Annotated, get_args

import typer
from rich.markup import escape

from runyard.cli.options import pairs
from runyard.cli.remote import Json, Token, Url, connected, err, fail, local_time, out, print_json
from runyard.cli.tables import new_table, show
from runyard.client.plans import Missed, Plan
from runyard.planner import MAX_DATES

plan_app = typer.Typer(help="Plans: catalog workflows submitted on a cron expression or a calendar.")

PlanId = Annotated[int, typer.Argument(min=1, help="Plan id (see `runyard plan list`).")]
Workflow = Annotated[str, typer.Argument(metavar="BUCKET/NAME", help="The catalog workflow to submit.")]
Cron = Annotated[
    str | None, typer.Option("--cron", metavar="EXPR", help="Five cron fields, such as '0 9 * * 1-5'.")
]
Dates = Annotated[
    list[str] | None,
    typer.Option("--date", metavar="DATETIME", help="A date of the calendar: 2026-12-24T18:00 (repeat it)."),
]
DatesFile = Annotated[
    Path | None,
    typer.Option("--dates-file", metavar="FILE", help="Calendar dates, one a line.", dir_okay=False),
]
Exclusions = Annotated[
    list[str] | None,
    typer.Option("--exclude", metavar="DAY|START/END", help="A day or an interval without runs (repeat it)."),
]


@plan_app.command("create")
def create(
    workflow: Workflow,
    cron: Cron = None,
    date: Dates = None,
    dates_file: DatesFile = None,
    exclude: Exclusions = None,
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone of the dates.")] = "UTC",
    start: Annotated[str | None, typer.Option("--start", help="No run before this date-time.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="No run after this date-time.")] = None,
    var: Annotated[list[str] | None, typer.Option("--var", metavar="KEY=VALUE", help="A variable.")] = None,
    gi: Annotated[
        list[str] | None, typer.Option("--gi", metavar="KEY=VALUE", help="Generic information.")
    ] = None,
    revision: Annotated[int | None, typer.Option("--revision", min=1, help="Default: the latest.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Shown in listings.")] = None,
    missed: Annotated[
        str, typer.Option("--missed", help="Times missed while no server ran: skip, run-once or run-all.")
    ] = "skip",
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Plan a catalog workflow; its variables are checked now and at each submission."""
    bucket, slash, workflow_name = workflow.partition("/")
    if not slash or not bucket or not workflow_name:
        fail(f"expected BUCKET/NAME, got {workflow!r}")
    if missed not in get_args(Missed):
        fail(f"--missed: one of {', '.join(get_args(Missed))}, not {missed!r}")
    dates = [*(date or []), *_dates(dates_file)]
    with connected(url, token) as client:
        plan = client.create_plan(
            bucket,
            workflow_name,
            cron=cron,
            dates=dates,
            exclusions=exclude or [],
            timezone=timezone,
            start=start,
            end=end,
            variables=pairs(var, "--var"),
            generic_information=pairs(gi, "--gi"),
            revision=revision,
            plan_name=name,
            missed=missed,  # type: ignore[arg-type]  # checked above
        )
    if json_output:
        print_json(plan)
        return
    out.print(f"created plan {plan['id']}; next run {_next(plan)}")


@plan_app.command("list")
def list_plans(
    owner: Annotated[str | None, typer.Option("--owner", help="Admins: this user's plans.")] = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Your plans (an admin: everyone's)."""
    with connected(url, token) as client:
        found = client.list_plans(owner=owner)
    if json_output:
        print_json(found)
        return
    table = new_table("id", "name", "workflow", "schedule", "owner", "next run", "state")
    for plan in found["plans"]:
        table.add_row(
            str(plan["id"]),
            escape(plan["name"]),
            escape(f"{plan['catalog']['bucket']}/{plan['catalog']['name']}"),
            escape(_schedule(plan)),
            escape(plan["owner"]),
            _next(plan),
            "paused" if plan["paused"] else "active",
        )
    show(out, table)


@plan_app.command("show")
def show_plan(
    plan_id: PlanId,
    count: Annotated[int, typer.Option("--count", min=1, max=100, help="Next times shown.")] = 5,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """A plan and its next times."""
    with connected(url, token) as client:
        plan = client.get_plan(plan_id)
        times = client.plan_next_times(plan_id, count)
    if json_output:
        print_json({**plan, "next_times": times})
        return
    catalog = plan["catalog"]
    revision = "latest" if catalog["revision"] is None else f"revision {catalog['revision']}"
    out.print(f"[bold]{escape(plan['name'])}[/bold] (plan {plan['id']}, {escape(plan['owner'])})")
    out.print(f"workflow: {escape(catalog['bucket'])}/{escape(catalog['name'])} ({revision})")
    out.print(f"schedule: {escape(_schedule(plan))}; missed times: {plan['missed']}")
    for key, value in plan["variables"].items():
        out.print(f"variable {escape(key)} = {escape(value)}")
    out.print("paused" if plan["paused"] else "next times: " + (", ".join(map(local_time, times)) or "none"))


@plan_app.command("pause")
def pause(plan_id: PlanId, url: Url = None, token: Token = None) -> None:
    """Submit nothing until resumed."""
    with connected(url, token) as client:
        client.pause_plan(plan_id)
    err.print(f"paused plan {plan_id}")


@plan_app.command("resume")
def resume(plan_id: PlanId, url: Url = None, token: Token = None) -> None:
    """Submit again from the next time after now."""
    with connected(url, token) as client:
        plan = client.resume_plan(plan_id)
    err.print(f"resumed plan {plan_id}; next run {_next(plan)}")


@plan_app.command("delete")
def delete(plan_id: PlanId, url: Url = None, token: Token = None) -> None:
    """Delete a plan and its runs (its jobs stay)."""
    with connected(url, token) as client:
        client.delete_plan(plan_id)
    err.print(f"deleted plan {plan_id}")


@plan_app.command("runs")
def runs(
    plan_id: PlanId,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 50,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """The times a plan handled, newest first: the job submitted, or why none was."""
    with connected(url, token) as client:
        found = client.list_plan_runs(plan_id, limit=limit)
    if json_output:
        print_json(found)
        return
    table = new_table("time", "status", "job", "error")
    for run in found["runs"]:
        job = "" if run["job_id"] is None else str(run["job_id"])
        table.add_row(local_time(run["scheduled_at"]), run["status"], job, escape(run["error"] or ""))
    show(out, table)


def _dates(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        with path.open(encoding="utf-8") as lines:
            dates = [line.strip() for line in islice(lines, MAX_DATES + 1) if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {path}: {error}")
    if len(dates) > MAX_DATES:
        fail(f"{path}: a calendar holds at most {MAX_DATES} dates")
    return dates


def _schedule(plan: Plan) -> str:
    schedule = plan["schedule"]
    what = f"cron {schedule['cron']}" if schedule["cron"] else f"{len(schedule['dates'])} dates"
    excluded = f", {len(schedule['exclusions'])} exclusions" if schedule["exclusions"] else ""
    return f"{what} ({schedule['timezone']}{excluded})"


def _next(plan: Plan) -> str:
    if plan["paused"]:
        return "paused"
    return local_time(plan["next_at"]) if plan["next_at"] is not None else "none (no time left)"


def register(app: typer.Typer) -> None:
    app.add_typer(plan_app, name="plan")
