"""Talking to a server from the command line: where it is, the token, and how its errors end a command.

The URL and token come from ``--url``/``--token``, else ``RUNYARD_URL``/``RUNYARD_TOKEN``, else the
file ``runyard login`` writes (``$XDG_CONFIG_HOME/runyard/client.toml``, by default
``~/.config/runyard/client.toml``, mode 0600). The file's token is only sent to the file's URL.

Exit codes: 0 done; 1 refused because of the state of things (409) or the server failed (5xx);
2 bad input or an authentication problem (other 4xx), or no server to talk to.
"""

from __future__ import annotations

import json
import os
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from runyard.client import ApiError, Client, ClientError
from runyard.client.transport import api_url
from runyard.errors import Problem

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

Url = Annotated[
    str | None,
    typer.Option(
        "--url", envvar="RUNYARD_URL", help="Server URL (default: the one saved by `runyard login`)."
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token", envvar="RUNYARD_TOKEN", help="Session token (default: the one saved by `runyard login`)."
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]

_SUBMITTED = "<submitted workflow>"
_LOGIN = "`runyard login --url URL --user NAME`"
#: REST routes the server's messages name (for API clients), as the commands that call them.
_COMMANDS = {"POST /api/v1/sessions": _LOGIN}


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "runyard" / "client.toml"


@dataclass(frozen=True)
class SavedLogin:
    """What ``runyard login`` keeps."""

    url: str | None = None
    token: str | None = None
    user: str | None = None

    @classmethod
    def load(cls) -> SavedLogin:
        path = config_path()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            fail(f"cannot read {path}: {error}")
        values = {key: data.get(key) for key in ("url", "token", "user")}
        if not all(value is None or isinstance(value, str) for value in values.values()):
            fail(f"{path}: url, token and user must be strings")
        return cls(**values)

    def save(self) -> Path:
        """Write the file readable by its owner only."""
        path = config_path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lines = [f"{key} = {json.dumps(value)}\n" for key, value in vars(self).items() if value is not None]
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write("# written by `runyard login`\n" + "".join(lines))
        return path


@dataclass(frozen=True)
class Remote:
    url: str
    token: str | None


def resolve(url: str | None, token: str | None) -> Remote:
    """The server and token to use (flags and environment were applied by typer)."""
    saved = SavedLogin.load()
    url = url or saved.url
    if not url:
        fail("no server given: use --url, set RUNYARD_URL, or run `runyard login --url URL --user NAME`")
    if token is None and saved.token is not None and saved.url is not None and _same(saved.url, url):
        token = saved.token
    return Remote(url, token)


def forget_saved_token(token: str | None) -> bool:
    """Drop ``token`` from the file ``runyard login`` wrote (its URL and user stay), if it is the saved
    one (a revoked token): whether it was."""
    saved = SavedLogin.load()
    if token is None or saved.token != token:
        return False
    SavedLogin(saved.url, None, saved.user).save()
    return True


def _same(first: str, second: str) -> bool:
    try:
        return api_url(first) == api_url(second)
    except ValueError:
        return False


@contextmanager
def connected(
    url: str | None, token: str | None, *, workflow_file: Path | None = None, anonymous: bool = False
) -> Iterator[Client]:
    """A client for the command (``anonymous``: without a token); SDK errors end the command with
    the server's message. ``workflow_file`` names the file in the located problems of an invalid submission.
    """
    remote = resolve(url, token)
    try:
        client = Client(remote.url, None if anonymous else remote.token)
    except ValueError as error:  # a URL that is not http(s)
        fail(str(error))
    try:
        with client:
            yield client
    except ApiError as error:
        report(error, workflow_file)
        raise typer.Exit(exit_code(error)) from None
    except ClientError as error:
        fail(str(error))


def exit_code(error: ApiError) -> int:
    return 1 if error.status == 409 or error.status >= 500 else 2


def report(error: ApiError, workflow_file: Path | None = None) -> None:
    if error.error == "invalid_workflow" and isinstance(error.details, list):
        for detail in error.details:
            err.print(f"[red]error:[/red] {escape(str(_problem(detail, workflow_file)))}")
        return
    message = error.message
    for route, command in _COMMANDS.items():
        message = message.replace(route, command)
    err.print(f"[red]error:[/red] {escape(message)}")
    if error.status == 401 and "runyard login" not in message:
        err.print(f"log in with {_LOGIN}, or give a valid --token")


def _problem(detail: dict[str, Any], workflow_file: Path | None) -> Problem:
    source = detail.get("source")
    if workflow_file is not None and source == _SUBMITTED:
        source = str(workflow_file)
    return Problem(
        detail.get("message", ""), source, detail.get("line"), detail.get("task"), detail.get("field")
    )


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, default=str) + "\n")


def local_time(epoch: float | None) -> str:
    """Epoch seconds as local ``YYYY-MM-DD HH:MM:SS`` (empty for ``None``)."""
    return "" if epoch is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
