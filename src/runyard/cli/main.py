"""``runyard`` commands. Exit codes: 0 success, 1 the job or check failed, 2 bad input."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from runyard import formats
from runyard.catalog.builtin import builtin_fetch
from runyard.cli import (
    admin_commands,
    analytics_commands,
    app_engine_commands,
    catalog_commands,
    jobs_commands,
    kernel_commands,
    notification_commands,
    plan_commands,
    psa_commands,
    service_commands,
    session_commands,
    signal_commands,
    userspace_commands,
)
from runyard.cli.follow import follow
from runyard.cli.help import Group
from runyard.cli.live import LiveView
from runyard.cli.options import node_tokens, pairs
from runyard.cli.server import server, user_app
from runyard.cli.tables import new_table, show
from runyard.errors import Problem, RunyardError, UnknownJobError, WorkflowError
from runyard.formats.locations import locate
from runyard.formats.task_references import expand_references
from runyard.model import JobStatus, TaskStatus, Workflow
from runyard.model.substitution import resolve
from runyard.platform import Platform
from runyard.reports import JobReport
from runyard.scheduler.specs import declared_token
from runyard.scheduler.submission import check_variable_values, check_workflow, unrunnable
from runyard.settings import Settings

app = typer.Typer(
    cls=Group,
    name="runyard",
    help="Run workflows of tasks on a pool of nodes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


Vars = Annotated[
    list[str] | None, typer.Option("--var", metavar="KEY=VALUE", help="Set a workflow variable: KEY=VALUE.")
]
Nodes = Annotated[int, typer.Option("--nodes", min=1, help="Local nodes to start.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout at the end.")]
NodeTokens = Annotated[
    list[str] | None,
    typer.Option("--node-token", metavar="NODE=TOKEN", help="Give a node an access token: NODE=TOKEN."),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="RUNYARD_DATABASE_URL",
        help="SQLAlchemy URL of the store (default: SQLite in the data folder).",
    ),
]


@app.command()
def run(
    workflow: Annotated[Path, typer.Argument(help="Workflow file: ProActive XML or runyard YAML.")],
    var: Vars = None,
    nodes: Nodes = 2,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", metavar="DIR", help="Keep the store here (default: a temporary folder)."),
    ] = None,
    json_output: Json = False,
    node_token: NodeTokens = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run a workflow to completion on local nodes, showing its tasks live."""
    definition = _load(workflow)
    variables = pairs(var, "--var")
    tokens = node_tokens(node_token)
    _warn_unheld_tokens(definition, variables, tokens)
    with _data_folder(data_dir) as folder:
        settings = Settings(
            data_dir=folder,
            nodes=nodes,
            node_tokens=tokens,
            database_url=database_url,
            data_space_roots=None,  # the user's own machine: any folder of theirs
        )
        with _platform(settings, live=not json_output) as platform:
            try:
                job_id = platform.submit(definition, variables)
            except WorkflowError as error:
                _problems(error.problems, definition)
                raise typer.Exit(2) from None
            reports = follow(platform, [job_id], data_dir=data_dir, err=err)
        _finish(reports[0], json_output)


def resume_local(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", metavar="DIR", help="Store of the interrupted run.")
    ],
    job_id: Annotated[
        int | None, typer.Argument(help="Job to finish (default: every unfinished job).")
    ] = None,
    restart_in_error: Annotated[
        bool, typer.Option("--restart-in-error", help="Run the IN_ERROR tasks again.")
    ] = False,
    nodes: Nodes = 2,
    json_output: Json = False,
    node_token: NodeTokens = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Finish the jobs of a run that was interrupted, killed, paused or stopped on an error.

    Paused jobs are resumed; IN_ERROR tasks run again with --restart-in-error."""
    if database_url is None and not (data_dir / "runyard.db").exists():
        err.print(f"[red]error:[/red] no runyard store in {data_dir}")
        raise typer.Exit(2)
    tokens = node_tokens(node_token)
    settings = Settings(
        data_dir=data_dir, nodes=nodes, database_url=database_url, node_tokens=tokens, data_space_roots=None
    )
    with _platform(settings, live=not json_output) as platform:
        platform.scheduler.recovered.result()  # statuses as the recovery leaves them (lost executions)
        ids = platform.alive_jobs()
        if job_id is not None:
            try:
                status = platform.status(job_id)
            except UnknownJobError as error:
                err.print(f"[red]error:[/red] {error} in {data_dir}")
                raise typer.Exit(2) from None
            ids = [job_id] if job_id in ids else []
            if not ids:
                err.print(f"job {job_id} had already ended: {status}")
        elif not ids:
            err.print("no unfinished job")
        for alive in ids:
            _unblock(platform, alive, restart_in_error=restart_in_error)
        reports = follow(platform, ids, data_dir=data_dir, err=err)
        if job_id is not None and not reports:
            reports = [platform.report(job_id)]
    if job_id is not None:
        _finish(reports[0], json_output)
    if json_output:
        sys.stdout.write(json.dumps(reports, default=str) + "\n")
    else:
        for report in reports:
            _summary(report)
    raise typer.Exit(0 if all(_succeeded(r) for r in reports) else 1)


def _unblock(platform: Platform, job_id: int, *, restart_in_error: bool) -> None:
    """Resume a paused job; with ``restart_in_error``, run its IN_ERROR tasks again."""
    if platform.status(job_id) is JobStatus.PAUSED:
        platform.resume_job(job_id)
    if restart_in_error:
        for task in platform.report(job_id)["tasks"]:
            if task["status"] == "IN_ERROR":
                platform.restart_task(job_id, task["name"])


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Workflow files to check.")],
) -> None:
    """Check workflows; print every problem as file:line: reason."""
    bad = 0
    for path in files:
        try:
            definition = formats.load(path, validate=False)
        except WorkflowError as error:
            _problems(error.problems, None)
            bad += 1
            continue
        problems = check_workflow(definition, runnable=False)
        if not problems:
            try:  # built-in buckets only: a server's catalog resolves the others at submission
                definition = expand_references(definition, builtin_fetch)
            except WorkflowError as error:
                problems = error.problems
        check_variable_values(definition, {}, problems)
        if problems:
            _problems(problems, definition)
            bad += 1
        else:
            count = len(definition.tasks)
            out.print(f"{path}: valid ({count} task{'' if count == 1 else 's'})")
        _warnings(unrunnable(definition), definition)
    raise typer.Exit(1 if bad else 0)


@app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="Workflow to read (.xml, .yaml, .yml).")],
    target: Annotated[Path, typer.Argument(help="File to write; its extension picks the format.")],
) -> None:
    """Convert a workflow between ProActive XML and runyard YAML (or Graphviz .dot)."""
    definition = _load(source, validate=False)
    try:
        formats.dump(definition, target)
    except (RunyardError, OSError) as error:
        err.print(f"[red]error:[/red] cannot write {target}: {error}")
        raise typer.Exit(2) from None
    err.print(f"wrote {target}")


app.command()(server)
app.add_typer(user_app, name="user")
# Commands talking to a server (`resume --data-dir D` runs resume_local above).
session_commands.register(app)
jobs_commands.register(app)
catalog_commands.register(app)
admin_commands.register(app)
service_commands.register(app)
psa_commands.register(app)
analytics_commands.register(app)
notification_commands.register(app)
signal_commands.register(app)
plan_commands.register(app)
userspace_commands.register(app)
kernel_commands.register(app)
app_engine_commands.register(app)


def _warn_unheld_tokens(
    workflow: Workflow, variables: dict[str, str], tokens: dict[str, tuple[str, ...]]
) -> None:
    """A task needing a token that no node holds would wait forever: say so before it does."""
    values = resolve({**{v.name: v.value for v in workflow.variables}, **variables})
    held = {token for node_tokens in tokens.values() for token in node_tokens}
    for task in workflow.tasks:
        token = declared_token(workflow.generic_information, task.generic_information, values)
        if token and "$" not in token and token not in held:
            err.print(
                f"[yellow]warning:[/yellow] task {task.name} needs node access token {token!r}, "
                "which no node holds (give one with --node-token NODE=TOKEN): it will wait"
            )


def _load(path: Path, *, validate: bool = True) -> Workflow:
    try:
        return formats.load(path, validate=validate)
    except WorkflowError as error:
        _problems(error.problems, None)
        raise typer.Exit(2) from None


def _problems(problems: list[Problem], workflow: Workflow | None) -> None:
    if workflow is not None:
        problems = [locate(p, workflow.locations, workflow.source) for p in problems]
    for problem in sorted(problems, key=lambda p: p.line or 0):
        err.print(f"[red]error:[/red] {escape(str(problem))}")


def _warnings(problems: list[Problem], workflow: Workflow) -> None:
    """What is valid but cannot run here (submission refuses it)."""
    for problem in problems:
        problem = locate(problem, workflow.locations, workflow.source)
        err.print(f"[yellow]warning:[/yellow] {escape(str(problem))} (submission refuses it)")


@contextmanager
def _data_folder(data_dir: Path | None) -> Iterator[Path]:
    if data_dir is not None:
        yield data_dir
        return
    folder = Path(tempfile.mkdtemp(prefix="runyard-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _platform(settings: Settings, *, live: bool) -> Iterator[Platform]:
    """A started platform; with ``live``, every task change and output is shown as it happens."""
    try:
        platform = Platform(settings)
    except RunyardError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    view = LiveView(out)
    if live:
        platform.listen(view)
    with platform, view:
        yield platform


def _succeeded(report: JobReport) -> bool:
    return report["status"] == JobStatus.FINISHED and not any(
        TaskStatus(t["status"]).is_failure for t in report["tasks"]
    )


def _finish(report: JobReport, json_output: bool) -> None:
    if json_output:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
    else:
        _summary(report)
    raise typer.Exit(0 if _succeeded(report) else 1)


def _summary(report: JobReport) -> None:
    title = f"job {report['job_id']} {report['name']}: {report['status']}"
    table = new_table("task", "status", "executions", "result", title=title)
    for task in report["tasks"]:
        result = "" if task["result"] is None else json.dumps(task["result"], default=str)
        table.add_row(task["name"], task["status"], str(task["executions"]), result[:60])
    show(out, table)
