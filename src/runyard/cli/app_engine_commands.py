"""``runyard app …``: the App Engine (Cytomine-compatible) — task bundles and runs of them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from runyard.cli.remote import Json, Token, Url, connected, err, out, print_json
from runyard.cli.tables import new_table, show
from runyard.client.app_engine import BINARY_TYPES, input_value
from runyard.client.errors import WaitTimeout

app_engine_app = typer.Typer(help="The App Engine: Cytomine task bundles and their runs (docs/app-engine.md)")

Namespace = Annotated[str, typer.Argument(help="The task's namespace, e.g. com.cytomine.dummy.identity.file")]
Version = Annotated[str, typer.Argument(help="The task's version, e.g. 1.0.0.")]
RunId = Annotated[str, typer.Argument(help="The run's id (a UUID).")]


@app_engine_app.command("upload")
def upload(
    bundle: Annotated[Path, typer.Argument(help="The bundle: a zip of descriptor.yml and the image tar.")],
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Upload a task bundle; its image is loaded on the server's container engine."""
    if not bundle.is_file():
        err.print(f"[red]error:[/red] {bundle} is not a file")
        raise typer.Exit(2)
    with connected(url, token) as client:
        task = client.upload_app_task(bundle)
    if json_output:
        print_json(task)
        return
    out.print(f"uploaded {_named(task)} (task {task['id']})")


@app_engine_app.command("list")
def list_tasks(json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """The tasks uploaded."""
    with connected(url, token) as client:
        tasks = client.list_app_tasks()
    if json_output:
        print_json(tasks)
        return
    table = new_table("namespace", "version", "name", "id")
    for task in tasks:
        table.add_row(escape(task["namespace"]), escape(task["version"]), escape(task["name"]), task["id"])
    show(out, table)


@app_engine_app.command("show")
def show_task(
    namespace: Namespace, version: Version, json_output: Json = False, url: Url = None, token: Token = None
) -> None:
    """A task: its description, inputs and outputs."""
    with connected(url, token) as client:
        task = client.get_app_task(namespace, version)
        inputs = client.app_task_inputs(namespace, version)
        outputs = client.app_task_outputs(namespace, version)
    if json_output:
        print_json({"task": task, "inputs": inputs, "outputs": outputs})
        return
    out.print(f"{escape(task['name'])}: {_named(task)} ({task['id']})")
    if task.get("description"):
        out.print(escape(task["description"]))
    for title, parameters in (("input", inputs), ("output", outputs)):
        table = new_table(title, "type", "optional", "default", "description")
        for parameter in parameters:
            default = parameter.get("default")
            table.add_row(
                escape(parameter["name"]),
                escape(parameter["type"]["id"]),
                "yes" if parameter.get("optional") else "",
                "" if default in (None, "null") else escape(str(default)),
                escape(parameter.get("description") or ""),
            )
        show(out, table)


@app_engine_app.command("delete")
def delete_task(namespace: Namespace, version: Version, url: Url = None, token: Token = None) -> None:
    """Delete a task (its uploader or an admin), with its runs."""
    with connected(url, token) as client:
        client.delete_app_task(namespace, version)
    out.print(f"deleted {escape(namespace)} {escape(version)}")


@app_engine_app.command("run")
def run_task(
    namespace: Namespace,
    version: Version,
    given: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            help="An input as name=value, or name=@file (a file or image input's bytes; for other types "
            "the file's text is the value). Repeat it.",
        ),
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the run's end.")] = True,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait at most.")] = None,
    outputs: Annotated[
        Path | None, typer.Option("--outputs", help="Folder to write the outputs to (once FINISHED).")
    ] = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Run a task with inputs; exits 1 if the run FAILED."""
    with connected(url, token) as client:
        types = {p["name"]: p["type"]["id"] for p in client.app_task_inputs(namespace, version)}
        values = dict(_input(text, types) for text in given or ())
        try:
            run = client.run_app_task(namespace, version, values, timeout=timeout, wait=wait)
        except WaitTimeout as error:
            err.print(f"[red]error:[/red] {error}")
            raise typer.Exit(1) from None
        if outputs is not None and run["state"] == "FINISHED":
            _extract(client.app_run_outputs_zip(run["id"]), outputs)
    if json_output:
        print_json(run)
    else:
        out.print(f"run {run['id']}: {run['state']}")
    if run["state"] == "FAILED":
        raise typer.Exit(1)


@app_engine_app.command("status")
def status(run_id: RunId, json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """A run's state."""
    with connected(url, token) as client:
        run = client.get_app_run(run_id)
    if json_output:
        print_json(run)
        return
    out.print(f"run {run['id']} of {_named(run['task'])}: {run['state']}")
    if run["jobId"] is not None:
        out.print(f"job {run['jobId']}")
    if run["reason"]:
        out.print(f"reason: {escape(run['reason'])}")


@app_engine_app.command("outputs")
def show_outputs(
    run_id: RunId,
    folder: Annotated[Path | None, typer.Option("--dir", help="Write the output files there too.")] = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """The outputs of a FINISHED run."""
    with connected(url, token) as client:
        values = client.app_run_outputs(run_id)
        if folder is not None:
            _extract(client.app_run_outputs_zip(run_id), folder)
    if json_output:
        print_json(values)
        return
    table = new_table("output", "type", "value")
    for value in values:
        shown = "" if value.get("value") is None else str(value["value"])
        table.add_row(escape(value["parameterName"]), value["type"], escape(shown))
    show(out, table)


@app_engine_app.command("logs")
def logs(run_id: RunId, url: Url = None, token: Token = None) -> None:
    """What the run's container printed, followed as it prints until the run's job ends."""
    with connected(url, token) as client:
        for line in client.follow_app_run_logs(run_id):
            out.print(escape(line))


def _named(task: dict[str, Any]) -> str:
    return f"{escape(task['namespace'])} {escape(task['version'])}"


def _input(text: str, types: dict[str, str]) -> tuple[str, Any]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise typer.BadParameter(f"expected name=value or name=@file, got {text!r}")
    if name not in types:
        known = ", ".join(sorted(types)) or "none"
        raise typer.BadParameter(f"the task has no input {name!r} (its inputs: {known})")
    kind = types[name]
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise typer.BadParameter(f"input {name}: {path} is not a file")
        if kind in BINARY_TYPES:
            return name, path
        value = path.read_text()
    try:
        return name, input_value(kind, value)
    except ValueError as error:
        raise typer.BadParameter(f"input {name}: {error}") from None


def _extract(archive: bytes, folder: Path) -> None:
    """The outputs zip into ``folder``; entries are checked to stay inside it."""
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    with zipfile.ZipFile(io.BytesIO(archive)) as outputs:
        for entry in outputs.infolist():
            target = (root / entry.filename).resolve()
            if not target.is_relative_to(root):
                raise typer.BadParameter(f"the outputs archive reaches out of its folder: {entry.filename}")
        outputs.extractall(root)
    err.print(f"outputs written to {folder}")


def register(app: typer.Typer) -> None:
    app.add_typer(app_engine_app, name="app")
