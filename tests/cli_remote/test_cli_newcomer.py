"""The command line as a newcomer meets it: help naming values, whole values in tables, which ``user``
command is which, messages naming commands rather than REST routes, counts that agree, no silent output."""

from __future__ import annotations

import io
import re
from pathlib import Path

import typer
from rich.console import Console

from cli_remote.conftest import COMMAND, Cli
from client.helpers import EXAMPLES
from runyard.cli.tables import new_table, show
from support.server import LiveServer

URL = "http://127.0.0.1:8080/api/v1/services/instances/12345/endpoints/notebook/proxy/lab?token=" + "x" * 40


def _commands(command: typer.core.TyperGroup, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in command.commands.items():
        if isinstance(sub, typer.core.TyperGroup):
            found += _commands(sub, (*path, name))
        else:
            found.append((*path, name))
    return found


def test_help_names_values_and_shows_flags_bare(bare_cli: Cli) -> None:
    assert isinstance(COMMAND, typer.core.TyperGroup)
    for path in _commands(COMMAND):
        code, out, err = bare_cli(*path, "--help")
        assert code == 0, (path, err)
        assert re.search(r"<[A-Za-z]\w*[\[> ]|\{\w+\}", out) is None, (path, out)  # <bool>, {workflow}
    _, out, _ = bare_cli("submit", "--help")
    assert "Usage: runyard submit [OPTIONS] WORKFLOW" in out
    assert re.search(r"--var\s+KEY=VALUE", out) and re.search(r"--url\s+URL", out)
    assert re.search(r"--json\s+Print", out)  # a flag takes no value
    _, out, _ = bare_cli("resume", "--help")
    assert "[JOB_ID]" in out and re.search(r"--data-dir\s+DIR", out)


def test_tables_keep_long_values_whole() -> None:
    piped = io.StringIO()
    table = new_table("id", "endpoints")
    table.add_row("1", URL)
    show(Console(file=piped, width=80), table)
    assert URL in piped.getvalue()
    terminal = io.StringIO()
    show(Console(file=terminal, width=80, force_terminal=True, color_system=None), table)
    lines = terminal.getvalue().splitlines()
    assert max(map(len, lines)) <= 80 and "…" not in terminal.getvalue()
    assert "".join(line.split("│")[2].strip() for line in lines if line.count("│") == 3) == URL


def test_the_jobs_table_shows_long_names_whole_and_counts_skipped_tasks_done(
    user_cli: Cli, tmp_path: Path
) -> None:
    name = "A_job_whose_name_is_far_longer_than_eighty_columns_allow_in_a_table_" + "x" * 30
    workflow = tmp_path / "long.yaml"
    workflow.write_text(f"name: {name}\ntasks:\n  Only:\n    script: {{cpython: 'result = 1'}}\n")
    assert user_cli.json("submit", str(workflow), "--wait")["status"] == "FINISHED"
    branch = user_cli.json("submit", str(EXAMPLES / "branch.xml"), "--var", "OS_NAME=Linux", "--wait")
    assert "SKIPPED" in {task["status"] for task in branch["tasks"]}
    user_cli.env["COLUMNS"] = "80"
    try:
        code, out, _ = user_cli("jobs")
        _, waited, _ = user_cli("submit", str(EXAMPLES / "branch.xml"), "--var", "OS_NAME=Linux", "--wait")
    finally:
        del user_cli.env["COLUMNS"]
    assert code == 0 and name in out
    row = next(line for line in out.splitlines() if line.startswith(f"│ {branch['id']} "))
    assert " 4/4 " in row, row
    assert "4/4 tasks done" in waited


def test_service_instances_says_when_there_are_none(user_cli: Cli) -> None:
    code, out, err = user_cli("service", "instances")
    assert (code, out) == (0, "") and "no active service instances" in err and "--all" in err
    code, out, err = user_cli("service", "instances", "--finished")
    assert (code, out) == (0, "") and "no finished service instances" in err


def test_a_missing_login_is_told_as_a_command(server: LiveServer, tmp_path: Path) -> None:
    code, _, err = Cli(server.url, None, tmp_path / "config")("jobs")
    assert code == 2 and "runyard login" in err and "/api/v1" not in err


def test_user_and_users_point_to_each_other(bare_cli: Cli, tmp_path: Path) -> None:
    assert "local data folder" in bare_cli("user", "--help")[1]
    assert "running server" in bare_cli("users", "--help")[1]
    code, _, err = bare_cli("users", "add", "dora", "--password-stdin", input="long enough pw\n")
    assert code == 2 and "no server given" in err and "`runyard user --help`" in err
    data = str(tmp_path / "data")
    code, _, err = bare_cli("user", "list", "--data-dir", data)
    assert code == 0 and "new data folder" in err and "`runyard users --help`" in err
    code, _, err = bare_cli("user", "remove", "nobody", "--data-dir", data)
    assert code == 2 and "`runyard users --help`" in err
