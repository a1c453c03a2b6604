"""``runyard server`` and ``runyard user`` (accounts, on the data folder, without a running server)."""

from __future__ import annotations

import gc
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.markup import escape

from runyard.auth import add_user, list_users, remove_user, set_password
from runyard.errors import RunyardError
from runyard.server.config import ServerConfig, load_config
from runyard.store.database import connect

err = Console(stderr=True, highlight=False, soft_wrap=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", metavar="DIR", help="Data folder (default: ./runyard-data, or from the config)."
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL of the store (default: SQLite in the data folder)."),
]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (else it is asked for)."),
]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", metavar="FILE", help="TOML config file (also RUNYARD_CONFIG).")
]


def server(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on [127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port [8080].")] = None,
    data_dir: DataDir = None,
    nodes: Annotated[int | None, typer.Option("--nodes", help="Local nodes to start [2].")] = None,
    database_url: DatabaseUrl = None,
    service_ports: Annotated[
        str | None,
        typer.Option(
            "--service-ports", metavar="LOW-HIGH", help="LOW-HIGH ports for services [OS ephemeral range]."
        ),
    ] = None,
    portal: Annotated[
        bool | None, typer.Option("--portal/--no-portal", help="Serve the web portal at / [--portal].")
    ] = None,
    proxy_port: Annotated[
        int | None,
        typer.Option(
            "--proxy-port",
            help="With the portal: TCP port serving services' endpoints, their own origin [port+1; 0: any].",
        ),
    ] = None,
    config: ConfigFile = None,
) -> None:
    """Start the platform: the web portal at /, REST API at /api/v1 (docs at /api/v1/docs), scheduler, nodes.

    Settings: flags, then RUNYARD_* environment variables, then the config file, then defaults.
    Unfinished jobs resume at start. At the first start an admin is created and its password printed.
    """
    import uvicorn

    from runyard.api.app import DOCS, create_app

    settings = _config(
        {
            "host": host,
            "port": port,
            "data_dir": data_dir,
            "nodes": nodes,
            "database_url": database_url,
            "service_ports": service_ports,
            "portal": portal,
            "proxy_port": proxy_port,
        },
        config,
    )
    sockets = [_listen(settings.host, settings.port)]
    if settings.separate_proxy:  # services' pages (user code) on an origin of their own: docs/security.md
        sockets.append(_listen(settings.host, settings.proxy_listen_port))
        settings = settings.with_proxy_port(sockets[1].getsockname()[1])
    what = "portal" if settings.portal else "serving"
    print(f"runyard: {what} {settings.base_url}/ (API docs: {settings.base_url}{DOCS})", flush=True)
    if settings.separate_proxy:
        where = f"{settings.host}:{settings.proxy_listen_port}"
        print(f"runyard: service endpoints at {settings.proxy_base_url}/ (listening on {where})", flush=True)
    app = create_app(settings, announce=lambda text: print(text, flush=True))
    uvicorn_config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
    # What is loaded now lives as long as the server: the collector's full collections no longer walk it
    # (~220,000 objects, a pause of 100 to 200 ms of every request under way).
    gc.freeze()
    try:
        uvicorn.Server(uvicorn_config).run(sockets=sockets)
    finally:
        for listener in sockets:
            listener.close()


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (exit 2 when it cannot be had)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        err.print(f"[red]error:[/red] cannot listen on {escape(host)}:{port}: {escape(str(error.strerror))}")
        raise typer.Exit(2) from None


user_app = typer.Typer(
    help="Accounts in a local data folder, without a server (on a running server: `runyard users`).",
    no_args_is_help=True,
)
#: Said when a ``runyard user`` command fails or starts a new data folder.
_SERVER_ACCOUNTS = "(accounts on a running server: `runyard users --help`)"


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    admin: Annotated[bool, typer.Option("--admin", help="Give the admin role.")] = False,
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Create an account (the password is read from stdin, or asked for)."""
    password = _password(password_stdin)
    with _store(data_dir, database_url, config) as connection:
        user = add_user(connection, name, password, admin=admin)
    err.print(f"created {user.role} {user.name!r}")


@user_app.command("password")
def user_password(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Set a user's password (for instance the first admin's, if its printed password was lost)."""
    password = _password(password_stdin)
    with _store(data_dir, database_url, config) as connection:
        set_password(connection, name, password)
    err.print(f"password of {name!r} changed: every session of {name!r} ended")


@user_app.command("remove")
def user_remove(
    name: Annotated[str, typer.Argument(help="User name.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
) -> None:
    """Delete an account and its sessions (its jobs stay)."""
    with _store(data_dir, database_url, config) as connection:
        remove_user(connection, name)
    err.print(f"removed {name!r}")


@user_app.command("list")
def user_list(data_dir: DataDir = None, database_url: DatabaseUrl = None, config: ConfigFile = None) -> None:
    """Print every account as NAME ROLE."""
    with _store(data_dir, database_url, config) as connection:
        for user in list_users(connection):
            print(f"{user.name}\t{user.role}")


def _config(flags: dict[str, object], config_file: Path | None) -> ServerConfig:
    try:
        return load_config(flags, config_file=config_file)
    except RunyardError as error:
        err.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None


@contextmanager
def _store(
    data_dir: Path | None, database_url: str | None, config_file: Path | None
) -> Iterator[sa.Connection]:
    """The store of a data folder, as one transaction; errors end the command with exit 2."""
    settings = _config({"data_dir": data_dir, "database_url": database_url}, config_file).settings()
    if not settings.data_dir.exists():
        err.print(f"new data folder {escape(str(settings.data_dir))} {_SERVER_ACCOUNTS}")
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = connect(settings.resolved_database_url())
        try:
            with engine.begin() as connection:
                yield connection
        finally:
            engine.dispose()
    except RunyardError as error:
        err.print(f"[red]error:[/red] {error} {_SERVER_ACCOUNTS}")
        raise typer.Exit(2) from None


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return password
