"""``runyard userspace``: list and download what your tasks wrote to your user space."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.markup import escape

from runyard.cli.remote import Json, Token, Url, connected, err, fail, local_time, out, print_json
from runyard.cli.tables import new_table, show

T = TypeVar("T")

userspace_app = typer.Typer(help="Your user space on the server: models, data and previews your tasks wrote.")


@userspace_app.command("ls")
def list_files(
    path: Annotated[str, typer.Argument(help="A folder of your user space (default: its top).")] = "",
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List a folder of your user space."""
    with connected(url, token) as client:
        listing = _checked(lambda: client.list_userspace(path))
    if json_output:
        print_json(listing)
        return
    table = new_table("name", "kind", "size", "modified", title=f"userspace/{escape(listing['path'])}")
    for entry in listing["entries"]:
        name = entry["name"] + ("/" if entry["kind"] == "folder" else "")
        table.add_row(escape(name), entry["kind"], str(entry["size"]), local_time(entry["modified"]))
    show(out, table)
    if listing["truncated"]:
        err.print("[yellow]only the first entries are listed[/yellow]")


@userspace_app.command("get")
def get_file(
    path: Annotated[
        str, typer.Argument(help="A file of your user space, e.g. ml/12/Train_Model/model.joblib.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write it here (default: standard output)."),
    ] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Download a file of your user space."""
    with connected(url, token) as client:
        content = _checked(lambda: client.read_userspace_file(path))
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    output.write_bytes(content)
    err.print(f"wrote {output} ({len(content)} bytes)")


def _checked(call: Callable[[], T]) -> T:
    try:
        return call()
    except ValueError as error:  # a path the SDK refuses before sending it
        fail(str(error))


def register(app: typer.Typer) -> None:
    app.add_typer(userspace_app, name="userspace")
