"""``runyard login``, ``logout`` and ``whoami``: the session the other remote commands use."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from runyard.cli.remote import (
    Json,
    SavedLogin,
    Token,
    Url,
    connected,
    err,
    forget_saved_token,
    out,
    print_json,
    resolve,
)
from runyard.client import ApiError


def login(
    user: Annotated[str, typer.Option("--user", help="User name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    url: Url = None,
) -> None:
    """Log in to a server and keep its URL and the session token for the next commands."""
    password = read_password(password_stdin, confirm=False)
    with connected(url, None, anonymous=True) as client:
        session = client.login(user, password)
    path = SavedLogin(client.url, session["token"], session["user"]).save()
    err.print(f"logged in to {client.url} as {session['user']} ({session['role']}); token saved in {path}")


def logout(url: Url = None, token: Token = None) -> None:
    """Revoke the session token and forget it."""
    remote = resolve(url, token)
    if remote.token is None:
        err.print("not logged in")
        return
    with connected(remote.url, remote.token) as client:
        try:
            client.logout()
        except ApiError as error:
            if error.status != 401:
                raise
            err.print("the token had already expired or been revoked")
    forget_saved_token(remote.token)
    err.print("logged out")


def whoami(url: Url = None, token: Token = None, json_output: Json = False) -> None:
    """The user the token belongs to, and its role."""
    with connected(url, token) as client:
        me = client.whoami()
    if json_output:
        print_json(me)
    else:
        out.print(f"{me['name']} ({me['role']}) on {client.url}")


def read_password(from_stdin: bool, *, confirm: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=confirm)
    return password


def register(app: typer.Typer) -> None:
    for command in (login, logout, whoami):
        app.command()(command)
