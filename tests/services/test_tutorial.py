"""docs/services-tutorial.md runs as written: its workflows and commands, against a live server."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from runyard.cli.main import app
from support.server import LiveServer

TUTORIAL = Path(__file__).parents[2] / "docs" / "services-tutorial.md"
COMMAND = typer.main.get_command(app)


def _files(text: str) -> dict[str, str]:
    """The YAML blocks that follow a ``<!-- file: NAME -->`` marker."""
    return dict(re.findall(r"<!-- file: (\S+) -->\n```yaml\n(.*?)```", text, flags=re.S))


def _commands(text: str) -> list[list[str]]:
    """The ``runyard`` commands of the ``sh`` block, without comments."""
    block = re.search(r"```sh\n(.*?)```", text, flags=re.S)
    assert block is not None
    lines = [line.split("#", 1)[0].split() for line in block.group(1).splitlines()]
    return [words[1:] for words in lines if words and words[0] == "runyard"]


def test_the_tutorial_runs_as_written(sqlite_server: LiveServer, tmp_path: Path) -> None:
    text = TUTORIAL.read_text()
    files = _files(text)
    assert set(files) == {"my_site.yaml", "finish_my_site.yaml"}
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    _, token = sqlite_server.new_user()
    env = {"RUNYARD_URL": sqlite_server.url, "RUNYARD_TOKEN": token, "XDG_CONFIG_HOME": str(tmp_path)}

    def runyard(args: list[str]) -> str:
        with CliRunner().isolation(env=env) as (stdout, _, _):
            previous = os.getcwd()
            os.chdir(tmp_path)
            try:
                COMMAND.main(args=args, prog_name="runyard", standalone_mode=False)
            finally:
                os.chdir(previous)
            return stdout.getvalue().decode()

    instance_id = "1"
    shown: dict[str, str] = {}
    for command in _commands(text):
        if command[:2] == ["service", "start"]:
            command = [*command, "--var", "HEALTH_CHECK_CRON=* * * * * */1"]  # a fast health check
        command = [instance_id if word == "1" else word for word in command]
        shown[" ".join(command[:2])] = output = runyard(command)
        if command[:2] == ["service", "start"]:
            found = re.search(r"service instance (\d+)", output)
            assert found is not None, output
            instance_id = found.group(1)
    assert "status    RUNNING" in shown["service info"], shown["service info"]
    url = re.search(r"endpoint\s+\S+: (http://\S+)", shown["service info"])
    assert url is not None
    assert "status    FINISHED" in shown["service action"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(url.group(1))
