"""The remote commands run in-process against a live server per backend, shared by the package."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from client.conftest import server
from runyard.cli.main import app
from support.server import LiveServer

__all__ = ["Cli", "server"]

COMMAND = typer.main.get_command(app)
"""Built once: typer's CliRunner.invoke builds it again at every call (~0.1 s each)."""


@dataclass
class Cli:
    """``runyard ARGS`` with ``RUNYARD_URL``/``RUNYARD_TOKEN`` (unless ``None``), a private config folder."""

    url: str | None
    token: str | None
    config_home: Path
    env: dict[str, str | None] = field(default_factory=dict)

    def __call__(self, *args: str, input: str | None = None) -> tuple[int, str, str]:
        """(exit code, stdout, stderr); exceptions other than exits propagate."""
        env = {"RUNYARD_URL": self.url, "RUNYARD_TOKEN": self.token, "XDG_CONFIG_HOME": str(self.config_home)}
        with CliRunner().isolation(input=input, env={**env, **self.env}) as (stdout, stderr, _):
            try:
                COMMAND.main(args=list(args), prog_name="runyard")
                code = 0
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else 1
            sys.stdout.flush()
            sys.stderr.flush()
            return code, stdout.getvalue().decode(), stderr.getvalue().decode()

    def json(self, *args: str, code: int = 0) -> Any:
        """The JSON document ``runyard ARGS --json`` prints, checking its exit code."""
        exit_code, out, err = self(*args, "--json")
        assert exit_code == code, f"exit {exit_code}: {err}"
        return json.loads(out)


@pytest.fixture(scope="module")
def user_cli(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """Commands run as a user without the admin role (the same one for the whole module)."""
    _, token = server.new_user()
    return Cli(server.url, token, tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="module")
def admin_cli(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return Cli(server.url, server.admin_token, tmp_path_factory.mktemp("config"))


@pytest.fixture
def bare_cli(tmp_path: Path) -> Cli:
    """No URL nor token in the environment, an empty config folder."""
    return Cli(None, None, tmp_path / "config")
