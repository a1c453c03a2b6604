"""``runyard analytics``: Job Analytics of a server (panels, the execution table; JSON or CSV)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape
from rich.table import Table

from runyard.cli.remote import Json, Token, Url, connected, fail, local_time, out, print_json
from runyard.cli.tables import new_table, show
from runyard.client.analytics import AnalyticsSearch
from runyard.client.documents import AnalyticsMetrics, ExecutionPage

Many = list[str] | None
_TIMES = {"submitted_at", "started_at", "finished_at"}
_SHOWN_VALUES = 4  # value columns in the terminal table by default (--json and --csv give them all)
_SHOWN_JOB_COLUMNS = ("id", "name", "status", "submitted_at", "duration")


def analytics(
    workflow: Annotated[
        Many, typer.Option("--workflow", "-w", help="Workflow name (wildcards: see docs).")
    ] = None,
    project: Annotated[Many, typer.Option("--project", help="Project name.")] = None,
    status: Annotated[Many, typer.Option("--status", help="Job status (Finished, In_Error...).")] = None,
    user: Annotated[Many, typer.Option("--user", help="Owner (default: you; admins: '*' for all).")] = None,
    submitted: Annotated[
        str | None, typer.Option("--submitted", help="today, yesterday, last_7_days, this_month...")
    ] = None,
    after: Annotated[
        str | None, typer.Option("--after", metavar="DATE", help="Submitted from (ISO date or epoch).")
    ] = None,
    before: Annotated[
        str | None, typer.Option("--before", metavar="DATE", help="Submitted before (ISO date or epoch).")
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", metavar="ZONE", help="Time zone of presets and dates (UTC).")
    ] = None,
    issue: Annotated[str | None, typer.Option("--issue", help="finished_with_issues or interrupted.")] = None,
    where: Annotated[
        Many,
        typer.Option(
            "--where", metavar="FILTER", help="Column filter: variables.LOSS<0.5, name~bert, duration>30."
        ),
    ] = None,
    sort: Annotated[
        str, typer.Option("--sort", metavar="COLUMN", help="Column; '-' first: descending.")
    ] = "-id",
    sort_as: Annotated[str, typer.Option("--sort-as", help="Compare values as text or number.")] = "text",
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="Rows of the table.")] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    sample: Annotated[int, typer.Option("--sample", min=1, max=10_000, help="Jobs in the charts.")] = 1000,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="Columns of the terminal table, comma-separated (default: id, name, status, submitted_at, "
            "duration and the first variables and results).",
        ),
    ] = None,
    json_output: Json = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print the execution table as CSV.")] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Job Analytics: how many jobs, how many succeeded, their issues and durations, and a table of
    their executions with their variables and results."""
    if json_output and csv_output:
        fail("--json and --csv: choose one")
    if sort_as not in ("text", "number"):
        fail("--sort-as is text or number")
    order: Literal["text", "number"] = "number" if sort_as == "number" else "text"
    search: AnalyticsSearch = {}
    given: dict[str, Any] = {
        "workflow": workflow, "project": project, "status": status, "user": user,
        "submitted": submitted, "submitted_after": after, "submitted_before": before, "tz": tz,
        "issue": issue, "where": where,
    }  # fmt: skip
    search.update({k: v for k, v in given.items() if v is not None})  # type: ignore[typeddict-item]
    with connected(url, token) as client:
        if csv_output:
            sys.stdout.write(client.analytics_csv(sort=sort, sort_as=order, limit=limit, **search))
            return
        if limit > 1000:
            fail("--limit: at most 1000 rows but with --csv")
        board = client.analytics(sample=sample, **search)
        page = client.analytics_executions(sort=sort, sort_as=order, limit=limit, offset=offset, **search)
    if json_output:
        print_json({**board, "executions": page})
        return
    _panels(board["metrics"])
    show(out, _table(page, _chosen(page["columns"], columns)))


def _panels(metrics: AnalyticsMetrics) -> None:
    ratio = metrics["success_ratio"]
    mean = metrics["mean_duration"]
    issues = metrics["issues"]
    interrupted = ", ".join(f"{s} {n}" for s, n in issues["interrupted_by_status"].items() if n)
    out.print(
        f"jobs {metrics['total']}, successful {metrics['successful']}"
        f" ({'-' if ratio is None else f'{ratio:.1%}'}), in progress {metrics['in_progress']}"
    )
    out.print(
        f"issues: finished with issues {issues['finished_with_issues']}, interrupted {issues['interrupted']}"
        + (f" ({interrupted})" if interrupted else "")
    )
    out.print(f"mean duration: {'-' if mean is None else f'{mean:.1f} s'}")


def _chosen(available: list[str], asked: str | None) -> list[str]:
    if asked is None:
        values = [c for c in available if "." in c][:_SHOWN_VALUES]
        return [c for c in _SHOWN_JOB_COLUMNS if c in available] + values
    chosen = [c.strip() for c in asked.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in available]
    if unknown:
        fail(f"--columns: no column {', '.join(unknown)} (columns: {', '.join(available)})")
    return chosen


def _table(page: ExecutionPage, columns: list[str]) -> Table:
    table = new_table(*map(escape, columns), title=f"{page['total']} job{'' if page['total'] == 1 else 's'}")
    for row in page["rows"]:
        table.add_row(*(escape(_shown(name, row.get(name))) for name in columns))
    return table


def _shown(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in _TIMES:
        return local_time(value)
    if column == "duration":
        return f"{value:.1f}"
    return value if isinstance(value, str) else json.dumps(value)


def register(app: typer.Typer) -> None:
    app.command()(analytics)
