"""``runyard signal``: the signals a job's tasks are ready for (with the variables each takes), and sending
one with values for them (``--var K=V``, checked against the variables' models by the server)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from runyard.cli.options import pairs
from runyard.cli.remote import Json, Token, Url, connected, err, local_time, out, print_json
from runyard.cli.tables import new_table, show

signal_app = typer.Typer(help="Signals of a job: what its tasks wait for; send one.", no_args_is_help=True)

JobArgument = Annotated[int, typer.Argument(min=1, help="Job id.")]


@signal_app.command("list")
def list_signals(
    job_id: JobArgument, json_output: Json = False, url: Url = None, token: Token = None
) -> None:
    """The job's signals: ready (a task waits for it) or received, with their variables."""
    with connected(url, token) as client:
        found = client.list_signals(job_id)
    if json_output:
        print_json(found)
        return
    table = new_table("signal", "status", "task", "variables", "when", title=f"signals of job {job_id}")
    for signal in found["signals"]:
        if signal["status"] == "received":
            shown = ", ".join(f"{name}={value}" for name, value in signal["values"].items())
            when = signal["sent_at"]
        else:
            shown = ", ".join(_declared(variable) for variable in signal["variables"])
            when = signal["ready_at"]
        table.add_row(
            escape(signal["name"]),
            signal["status"],
            escape(signal["task"] or ""),
            escape(shown),
            local_time(when) if when else "",
        )
    show(out, table)


@signal_app.command("send")
def send(
    job_id: JobArgument,
    name: Annotated[str, typer.Argument(help="The signal (see `runyard signal list JOB`).")],
    var: Annotated[
        list[str] | None, typer.Option("--var", metavar="KEY=VALUE", help="A value for one of its variables.")
    ] = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Send a signal a task of the job is ready for; variables not given keep their defaults."""
    values = pairs(var, "--var")
    with connected(url, token) as client:
        sent = client.send_signal(job_id, name, values)
    if json_output:
        print_json(sent)
        return
    shown = ", ".join(f"{key}={value}" for key, value in sent["values"].items())
    err.print(f"sent {escape(name)} to job {job_id}" + (f" ({escape(shown)})" if shown else ""))


def _declared(variable: dict[str, object]) -> str:
    model = f" ({variable['model']})" if variable.get("model") else ""
    return f"{variable['name']}={variable.get('value') or ''}{model}"


def register(app: typer.Typer) -> None:
    app.add_typer(signal_app, name="signal")
