"""Jobs on a server: submit, list, read state, results and logs; kill, pause, resume, restart."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from runyard.catalog.names import NAME_PATTERN
from runyard.cli.job_view import results_table, stuck, succeeded, tasks_done, watch
from runyard.cli.options import pairs
from runyard.cli.remote import Json, Token, Url, connected, err, fail, local_time, out, print_json
from runyard.cli.tables import new_table, show
from runyard.client.documents import Job

JobId = Annotated[int, typer.Argument(help="Job id.", min=1)]
TaskOption = Annotated[str | None, typer.Option("--task", help="Only this task (e.g. Process*1).")]


def submit(
    workflow: Annotated[
        str, typer.Argument(help="Workflow file (XML or YAML), or BUCKET/NAME in the catalog.")
    ],
    var: Annotated[
        list[str] | None,
        typer.Option("--var", metavar="KEY=VALUE", help="Set a workflow variable: KEY=VALUE."),
    ] = None,
    gi: Annotated[
        list[str] | None,
        typer.Option("--gi", metavar="KEY=VALUE", help="Add generic information: KEY=VALUE."),
    ] = None,
    revision: Annotated[
        int | None, typer.Option("--revision", min=1, help="Catalog revision (default: the latest).")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Show the tasks live until the job ends; exit with its outcome.")
    ] = False,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Submit a workflow; with --wait, follow it until it ends (exit 0 if it succeeded, else 1)."""
    variables, information = pairs(var, "--var"), pairs(gi, "--gi")
    path = Path(workflow)
    source = _catalog_ref(workflow) if not path.is_file() else None
    if not path.is_file() and source is None:
        fail(f"no workflow file {workflow} (and not a catalog reference BUCKET/NAME)")
    if revision is not None and source is None:
        fail("--revision is for a workflow of the catalog (BUCKET/NAME)")
    with connected(url, token, workflow_file=path) as client:
        if source is None:
            job_id = client.submit(path, variables, information)
        else:
            job_id = client.submit_from_catalog(*source, variables, information, revision=revision)
        if not wait:
            if json_output:
                print_json({"id": job_id})
            else:
                out.print(f"submitted job {job_id}")
            return
        job = watch(client, job_id, out, show=not json_output)
    _finish(job, json_output)


def _catalog_ref(text: str) -> tuple[str, str] | None:
    bucket, slash, name = text.partition("/")
    if slash and NAME_PATTERN.match(bucket) and NAME_PATTERN.match(name):
        return bucket, name
    return None


def _finish(job: Job, json_output: bool) -> None:
    if json_output:
        print_json(job)
    if stuck(job):
        failed = [t["name"] for t in job["tasks"] if t["status"] == "IN_ERROR"]
        what = f"task {', '.join(failed)} failed" if failed else "it is paused"
        hint = f"runyard restart {job['id']} {failed[0]}" if failed else f"runyard resume {job['id']}"
        err.print(f"[yellow]job {job['id']} is {job['status']}:[/yellow] {what}; go on with: {escape(hint)}")
    raise typer.Exit(0 if succeeded(job) else 1)


def jobs(
    status: Annotated[list[str] | None, typer.Option("--status", help="Only jobs with this status.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Another user's jobs (admins).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Job name; '*' matches anything.")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Project; '*' matches anything.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List jobs, newest first: yours (an admin sees everyone's)."""
    with connected(url, token) as client:
        page = client.list_jobs(
            status=status, owner=owner, name=name, project=project, limit=limit, offset=offset
        )
    if json_output:
        print_json(page)
        return
    title = f"{page['total']} job{'' if page['total'] == 1 else 's'}"
    table = new_table("id", "name", "owner", "status", "tasks", "submitted", title=title)
    for job in page["jobs"]:
        counts = job["task_counts"]
        tasks = f"{tasks_done(counts)}/{sum(counts.values())}"
        table.add_row(
            str(job["id"]),
            escape(job["name"]),
            escape(job["owner"]),
            job["status"],
            tasks,
            local_time(job["submitted_at"]),
        )
    show(out, table)


def job(job_id: JobId, json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """A job's state and its tasks."""
    with connected(url, token) as client:
        state = client.get_job(job_id)
    if json_output:
        print_json(state)
    else:
        out.print(results_table(state))


def result(
    job_id: JobId, task: TaskOption = None, json_output: Json = False, url: Url = None, token: Token = None
) -> None:
    """The results of a job's tasks (and its result map), or one task's result value."""
    with connected(url, token) as client:
        if task is not None:
            value = client.get_task_result(job_id, task)
            if json_output or not isinstance(value, str):
                print_json(value)
            else:
                out.print(escape(value))
            return
        results = client.get_job_result(job_id)
    if json_output:
        print_json(results)
        return
    table = new_table("task", "result", title=f"job {job_id}: {results['status']}")
    for name, value in results["results"].items():
        table.add_row(escape(name), escape(json.dumps(value, default=str)))
    for name, error in results["errors"].items():
        table.add_row(
            escape(name), f"[red]{escape(error.strip().splitlines()[-1] if error.strip() else '')}[/red]"
        )
    show(out, table)
    if results["result_map"]:
        out.print(f"result map: {escape(json.dumps(results['result_map'], default=str))}")


def workflow(
    job_id: JobId,
    xml: Annotated[bool, typer.Option("--xml", help="ProActive XML instead of YAML.")] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """The workflow a job ran, as stored at submission (task references expanded)."""
    with connected(url, token) as client:
        sys.stdout.write(client.get_job_workflow(job_id, "xml" if xml else "yaml"))


def logs(
    job_id: JobId,
    task: TaskOption = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Go on printing until the job ends.")
    ] = False,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """What a job's tasks printed (each line prefixed with [TASK]), or one task's output."""
    if follow and json_output:
        fail("--follow prints lines as they come: it cannot be used with --json")
    with connected(url, token) as client:
        if follow:
            for line in client.follow_logs(job_id, task):
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
            return
        text = client.get_job_output(job_id) if task is None else client.get_task_output(job_id, task)
    if json_output:
        print_json({"job_id": job_id, "task": task, "output": text})
    else:
        sys.stdout.write(text)


def kill(job_id: JobId, task: TaskOption = None, url: Url = None, token: Token = None) -> None:
    """Kill a job (its running tasks are aborted), or one task."""
    _control(url, token, job_id, task, "kill")


def pause(job_id: JobId, task: TaskOption = None, url: Url = None, token: Token = None) -> None:
    """Pause a job (no task starts; running ones go on), or keep one waiting task from starting."""
    _control(url, token, job_id, task, "pause")


def resume(
    job_id: Annotated[
        int | None, typer.Argument(help="Job id (with --data-dir: default every unfinished job).")
    ] = None,
    task: TaskOption = None,
    restart_in_error: Annotated[
        bool, typer.Option("--restart-in-error", help="Also run the IN_ERROR tasks again.")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", metavar="DIR", help="Resume a local run kept in this folder instead."),
    ] = None,
    nodes: Annotated[int, typer.Option("--nodes", min=1, help="With --data-dir: local nodes to start.")] = 2,
    node_token: Annotated[
        list[str] | None,
        typer.Option(
            "--node-token", metavar="NODE=TOKEN", help="With --data-dir: give a node a token: NODE=TOKEN."
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", envvar="RUNYARD_DATABASE_URL", help="With --data-dir: the store's URL."
        ),
    ] = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Resume a paused job (or task) on the server; with --data-dir, finish a local run instead.

    --restart-in-error also runs the job's IN_ERROR tasks again.

    With --data-dir: local nodes run the folder's unfinished jobs (or JOB_ID) to their end."""
    if data_dir is not None:
        from runyard.cli import main  # the local command; imported here as main imports this module

        main.resume_local(
            data_dir=data_dir,
            job_id=job_id,
            restart_in_error=restart_in_error,
            nodes=nodes,
            json_output=json_output,
            node_token=node_token,
            database_url=database_url,
        )
        return
    if job_id is None:
        fail("give the JOB_ID of the job to resume (or --data-dir for a local run)")
    if task is not None or not restart_in_error:
        _control(url, token, job_id, task, "resume")
        return
    with connected(url, token) as client:
        if client.get_job_status(job_id) == "PAUSED":
            out.print(f"job {job_id}: {client.resume_job(job_id)}")
        for instance in client.get_job(job_id)["tasks"]:
            if instance["status"] == "IN_ERROR":
                state = client.restart_task(job_id, instance["name"])
                out.print(f"task {escape(instance['name'])} of job {job_id}: {state['status']}")


def restart(
    job_id: JobId,
    task: Annotated[str, typer.Argument(help="The IN_ERROR task.")],
    url: Url = None,
    token: Token = None,
) -> None:
    """Run an IN_ERROR task again (onTaskError suspendTask or pauseJob stops a job there)."""
    with connected(url, token) as client:
        state = client.restart_task(job_id, task)
    out.print(f"task {escape(task)} of job {job_id}: {state['status']}")


def _control(
    url: str | None,
    token: str | None,
    job_id: int,
    task: str | None,
    action: Literal["kill", "pause", "resume"],
) -> None:
    with connected(url, token) as client:
        if task is None:
            on_job = {"kill": client.kill_job, "pause": client.pause_job, "resume": client.resume_job}
            out.print(f"job {job_id}: {on_job[action](job_id)}")
        else:
            on_task = {"kill": client.kill_task, "pause": client.pause_task, "resume": client.resume_task}
            out.print(f"task {escape(task)} of job {job_id}: {on_task[action](job_id, task)['status']}")


def register(app: typer.Typer) -> None:
    for command in (submit, jobs, job, result, workflow, logs, kill, pause, resume, restart):
        app.command()(command)
