"""``runyard nodes``, ``credentials`` and ``users``: the resources and accounts of a server.

Each group lists when called alone (``runyard nodes --json``) and changes things with a command.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape

from runyard.cli.node_source_commands import source_app
from runyard.cli.remote import (
    Json,
    Token,
    Url,
    connected,
    err,
    forget_saved_token,
    local_time,
    out,
    print_json,
    resolve,
)
from runyard.cli.session_commands import read_password
from runyard.cli.tables import new_table, show
from runyard.client import Client

nodes_app = typer.Typer(help="Nodes of the server; admins lock them and give them access tokens.")
credentials_app = typer.Typer(help="Your third-party credentials, read by your tasks as credentials['NAME'].")
users_app = typer.Typer(
    help="Accounts on a running server, through its API (for a local data folder: `runyard user`)."
)
#: Said when a ``runyard users`` command fails for want of a server, a login or an account there.
_LOCAL_ACCOUNTS = "(accounts in a local data folder, without a server: `runyard user --help`)"

NodeName = Annotated[str, typer.Argument(help="Node name (e.g. local-1).")]
NodeToken = Annotated[str, typer.Argument(help="Access token (NODE_ACCESS_TOKEN of the tasks to run).")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


@nodes_app.callback(invoke_without_command=True)
def nodes(ctx: typer.Context, json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """List the nodes."""
    if ctx.invoked_subcommand is not None:
        return
    with connected(url, token) as client:
        found = client.list_nodes()
    if json_output:
        print_json(found)
        return
    table = new_table("node", "source", "state", "job", "task", "tokens", "locked by")
    for node in found:
        table.add_row(
            escape(node["name"]),
            escape(node["source"]),
            node["state"],
            "" if node["job_id"] is None else str(node["job_id"]),
            escape(node["task"] or ""),
            escape(", ".join(node["tokens"])),
            escape(f"{node['locked_by']} at {local_time(node['locked_at'])}" if node["locked"] else ""),
        )
    show(out, table)


@nodes_app.command("sources")
def sources(json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """List the node sources and how many of their nodes are in each state."""
    with connected(url, token) as client:
        found = client.list_node_sources()
    if json_output:
        print_json(found)
        return
    for source in found:
        states = ", ".join(f"{count} {state}" for state, count in sorted(source["states"].items()))
        out.print(f"{escape(source['name'])}: {source['nodes']} nodes ({states})")


@nodes_app.command("lock")
def lock(node: NodeName, url: Url = None, token: Token = None) -> None:
    """The node finishes its task and takes no other until unlocked (admins)."""
    with connected(url, token) as client:
        state = client.lock_node(node)["state"]
    out.print(f"{escape(node)}: {state}")


@nodes_app.command("unlock")
def unlock(node: NodeName, url: Url = None, token: Token = None) -> None:
    """Let a locked node take tasks again (admins)."""
    with connected(url, token) as client:
        state = client.unlock_node(node)["state"]
    out.print(f"{escape(node)}: {state}")


@nodes_app.command("add-token")
def add_token(node: NodeName, access_token: NodeToken, url: Url = None, token: Token = None) -> None:
    """From now on the node only runs tasks that need one of its tokens (admins)."""
    with connected(url, token) as client:
        tokens = client.add_node_token(node, access_token)["tokens"]
    out.print(f"{escape(node)} holds: {escape(', '.join(tokens))}")


@nodes_app.command("remove-token")
def remove_token(node: NodeName, access_token: NodeToken, url: Url = None, token: Token = None) -> None:
    """Take a token back from a node (admins)."""
    with connected(url, token) as client:
        client.remove_node_token(node, access_token)
    err.print(f"removed the token from {node}")


@credentials_app.callback(invoke_without_command=True)
def credentials(ctx: typer.Context, json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """List the names of your credentials (their values are never shown)."""
    if ctx.invoked_subcommand is not None:
        return
    with connected(url, token) as client:
        names = client.list_credentials()
    if json_output:
        print_json(names)
    else:
        for name in names:
            typer.echo(name)


@credentials_app.command("set")
def set_credential(
    name: Annotated[str, typer.Argument(help="Credential name.")],
    value_stdin: Annotated[
        bool, typer.Option("--value-stdin", help="Read the value from standard input.")
    ] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Create or replace a credential (the value is read from stdin, or asked for)."""
    value = sys.stdin.read().rstrip("\r\n") if value_stdin else typer.prompt("value", hide_input=True)
    with connected(url, token) as client:
        created = client.put_credential(name, value)
    err.print(f"{'created' if created else 'replaced'} credential {name}")


@credentials_app.command("remove")
def remove_credential(
    name: Annotated[str, typer.Argument(help="Credential name.")], url: Url = None, token: Token = None
) -> None:
    """Delete a credential."""
    with connected(url, token) as client:
        client.delete_credential(name)
    err.print(f"removed credential {name}")


@users_app.callback(invoke_without_command=True)
def users(ctx: typer.Context, json_output: Json = False, url: Url = None, token: Token = None) -> None:
    """List the accounts (admins)."""
    if ctx.invoked_subcommand is not None:
        return
    with _on_server(url, token) as client:
        found = client.list_users()
    if json_output:
        print_json(found)
    else:
        for user in found:
            typer.echo(f"{user['name']}\t{user['role']}")


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="User name.")],
    admin: Annotated[bool, typer.Option("--admin", help="Give the admin role.")] = False,
    password_stdin: PasswordStdin = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Create an account (admins)."""
    password = read_password(password_stdin, confirm=True)
    with _on_server(url, token) as client:
        user = client.add_user(name, password, admin=admin)
    err.print(f"created {user['role']} {user['name']}")


@users_app.command("remove")
def remove_user(
    name: Annotated[str, typer.Argument(help="User name.")], url: Url = None, token: Token = None
) -> None:
    """Delete an account and its sessions; its jobs stay (admins)."""
    with _on_server(url, token) as client:
        client.remove_user(name)
    err.print(f"removed {name}")


@users_app.command("password")
def change_password(
    name: Annotated[str, typer.Argument(help="User name (yours, or anyone's for an admin).")],
    password_stdin: PasswordStdin = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Set a new password; every session of the account ends (this one too, for your own)."""
    password = read_password(password_stdin, confirm=True)
    remote = resolve(url, token)
    with _on_server(remote.url, remote.token) as client:
        own = client.whoami()["name"] == name
        client.change_password(name, password)
    if not own:
        err.print(f"password of {name} changed: every session of {name} ended ({name} logs in with it again)")
        return
    forgotten = " (the saved token is forgotten)" if forget_saved_token(remote.token) else ""
    err.print(
        f"password of {name} changed: every session of {name} ended, this one too{forgotten}; "
        f"log in again with `runyard login --url {client.url} --user {name}`"
    )


@users_app.command("token")
def issue_token(
    name: Annotated[str, typer.Argument(help="User name the token acts as.")],
    days: Annotated[float, typer.Option("--days", help="Days it stays valid (366 at most).")] = 30,
    url: Url = None,
    token: Token = None,
) -> None:
    """Print a long-lived token of a user, for a program acting as them (a Cytomine core calling the App
    Engine): it ends with its time, a logout with it, a password change or the account's removal (admins)."""
    with _on_server(url, token) as client:
        issued = client.issue_token(name, days * 24 * 3600)
    expires = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(issued["expires_at"]))
    err.print(f"token of {issued['user']}, valid until {expires}:")
    typer.echo(issued["token"])


@contextmanager
def _on_server(url: str | None, token: str | None) -> Iterator[Client]:
    """:func:`connected`, pointing to ``runyard user`` when the command fails for bad input, no server,
    no login or no such account (exit code 2)."""
    try:
        with connected(url, token) as client:
            yield client
    except typer.Exit as exit:
        if exit.exit_code == 2:
            err.print(_LOCAL_ACCOUNTS)
        raise


def register(app: typer.Typer) -> None:
    nodes_app.add_typer(source_app, name="source")
    app.add_typer(nodes_app, name="nodes")
    app.add_typer(credentials_app, name="credentials")
    app.add_typer(users_app, name="users")
