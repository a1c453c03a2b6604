"""``runyard nodes source add|list|remove``: node sources of a running server, changed by its admins."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from runyard.cli.remote import Json, Token, Url, connected, err, out, print_json
from runyard.cli.tables import new_table, show

source_app = typer.Typer(help="Node sources: the server's config file's, and those admins add at run time.")

SourceName = Annotated[str, typer.Argument(help="Node source name; its nodes are named NAME-….")]


def parse_option(text: str) -> tuple[str, Any]:
    """``key=value``; the value is read as JSON when it is (``nodes=2``, ``shared_fs=true``), else text."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise typer.BadParameter(f"expected key=value, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


@source_app.command("add")
def add(
    name: SourceName,
    kind: Annotated[str, typer.Option("--type", help="local, dask or slurm.")],
    nodes: Annotated[int | None, typer.Option("--nodes", help="local: how many nodes.")] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="dask: the Dask scheduler's address, tcp://HOST:PORT.")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Any option of the type, as key=value (repeat it)."),
    ] = None,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Start a node source on the server and keep it across restarts (admins)."""
    options = dict(parse_option(text) for text in option or ())
    options |= {
        key: value for key, value in (("nodes", nodes), ("scheduler", scheduler)) if value is not None
    }
    with connected(url, token) as client:
        source = client.add_node_source(name, kind, options)
    if json_output:
        print_json(source)
        return
    out.print(f"{escape(source['name'])} ({escape(source['type'])}): {source['state']}")


@source_app.command("list")
def list_sources(json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """List the node sources: type, origin, state and their nodes' states."""
    with connected(url, token) as client:
        found = client.list_node_sources()
    if json_output:
        print_json(found)
        return
    table = new_table("source", "type", "origin", "state", "nodes", "added by")
    for source in found:
        states = ", ".join(f"{count} {state}" for state, count in sorted(source["states"].items()))
        state = source["state"] + (f": {source['error']}" if source["error"] else "")
        table.add_row(
            escape(source["name"]),
            escape(source["type"]),
            source["origin"],
            escape(state),
            f"{source['nodes']}" + (f" ({states})" if states else ""),
            escape(source["added_by"] or ""),
        )
    show(out, table)


@source_app.command("remove")
def remove(name: SourceName, url: Url = None, token: Token = None) -> None:
    """Remove a source added at run time: its nodes leave, their tasks run again elsewhere (admins)."""
    with connected(url, token) as client:
        client.remove_node_source(name)
    err.print(f"removed node source {escape(name)}")
