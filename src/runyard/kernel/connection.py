"""Which server a notebook talks to, as whom: ``#%connect(...)`` or what the machine already knows.

Without parameters, the first of: ``proactive_config.ini`` in the notebook's folder (the ProActive
kernel's file: ``[proactive_server]`` ``url`` or ``host``/``port``, ``[user]`` ``login``/``password``),
``RUNYARD_URL`` with ``RUNYARD_TOKEN``, the session saved by ``runyard login``.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import typer

from runyard.cli.remote import SavedLogin
from runyard.client import Client, ClientError
from runyard.kernel.pragmas import PragmaError

CONFIG_FILE = "proactive_config.ini"
DEFAULT_PORT = "8080"


@dataclass
class Connection:
    client: Client
    user: str
    owns_session: bool
    """Whether the kernel logged in (it logs out when it stops) or borrowed a token."""

    def close(self) -> None:
        try:
            if self.owns_session:
                self.client.logout()
        except ClientError:
            pass  # the session ends with its expiry anyway
        finally:
            self.client.close()


def connect(params: dict[str, Any]) -> Connection:
    """A connection as ``#%connect`` asks; :class:`PragmaError` saying why there is none."""
    if "path" in params:
        return _from_config(Path(params["path"]).expanduser())
    if not {"url", "host", "port", "login", "password"} & params.keys():
        return connect_default()
    if "login" not in params or "password" not in params:
        raise PragmaError("give login=LOGIN and password=PASSWORD", "Parameter error")
    if "url" in params or "host" in params or "port" in params:
        url = params.get("url") or _host_url(params)
    else:
        url = _known_server()[0]
        if not url:
            raise PragmaError(
                "give the server: url=URL (neither RUNYARD_URL nor `runyard login` names one)",
                "Parameter error",
            )
    return _login(url, params["login"], params["password"])


def connect_default() -> Connection:
    """What ``#%connect()`` without parameters uses (the module docstring's order)."""
    config = Path.cwd() / CONFIG_FILE
    if config.is_file():
        return _from_config(config)
    url, token = _known_server()
    if not url or not token:
        raise PragmaError(
            "not connected: use #%connect(url=URL, login=LOGIN, password=PASSWORD), write "
            f"{CONFIG_FILE}, set RUNYARD_URL and RUNYARD_TOKEN, or run `runyard login`",
            "Connection error",
        )
    client = _client(url, token)
    try:
        user = client.whoami()["name"]
    except ClientError as error:
        client.close()
        raise PragmaError(f"{url}: {error}", "Connection error") from None
    return Connection(client, user, owns_session=False)


def _known_server() -> tuple[str | None, str | None]:
    """URL and token from ``RUNYARD_URL``/``RUNYARD_TOKEN``, else from what ``runyard login`` saved."""
    if os.environ.get("RUNYARD_URL"):
        return os.environ["RUNYARD_URL"], os.environ.get("RUNYARD_TOKEN")
    try:
        saved = SavedLogin.load()
    except typer.Exit:
        raise PragmaError("the session saved by `runyard login` cannot be read", "Connection error") from None
    return saved.url, saved.token


def _from_config(path: Path) -> Connection:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as file:
            parser.read_file(file)
    except (OSError, UnicodeDecodeError, configparser.Error) as error:
        raise PragmaError(f"cannot read {path}: {error}", "Connection error") from None
    server = dict(parser["proactive_server"]) if parser.has_section("proactive_server") else {}
    user = dict(parser["user"]) if parser.has_section("user") else {}
    url = server.get("url") or (_host_url(server) if "host" in server else None)
    if not url or not user.get("login") or not user.get("password"):
        raise PragmaError(
            f"{path}: needs [proactive_server] url (or host and port) and [user] login and password",
            "Connection error",
        )
    return _login(url, user["login"], user["password"])


def _host_url(params: dict[str, Any]) -> str:
    host = params.get("host")
    if not host:
        raise PragmaError("give host=HOST with port=PORT, or url=URL", "Parameter error")
    return f"http://{host}:{params.get('port') or DEFAULT_PORT}"


def _login(url: str, login: str, password: str) -> Connection:
    client = _client(url, None)
    try:
        session = client.login(login, password)
    except ClientError as error:
        client.close()
        raise PragmaError(f"{url}: {error}", "Connection error") from None
    return Connection(client, session["user"], owns_session=True)


def _client(url: str, token: str | None) -> Client:
    try:
        return Client(url, token)
    except (ValueError, httpx.InvalidURL) as error:
        raise PragmaError(f"{url!r}: {error}", "Parameter error") from None
