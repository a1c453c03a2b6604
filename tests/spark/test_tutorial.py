"""docs/services-tutorial-advanced.md runs as written: its workflows are the shipped ones, and its commands
(the ``runyard`` ones through the CLI, the ``spark-submit`` for real) run against a live server."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from runyard.cli.main import app
from support.server import LiveServer

from .conftest import (
    MASTER_PLACEHOLDER,
    SECRET_PLACEHOLDER,
    SUM_PRINTED,
    is_spark_submit,
    spark_submit,
    tutorial_commands,
    tutorial_files,
)

BUCKET = Path(__file__).parents[2] / "src" / "runyard" / "buckets" / "service-automation"
COMMAND = typer.main.get_command(app)

pytestmark = pytest.mark.timeout(600)


def test_the_workflows_shown_are_the_shipped_ones() -> None:
    files = tutorial_files()
    assert set(files) == {"spark.yaml", "finish_spark.yaml", "sum.py"}
    for name in ("spark.yaml", "finish_spark.yaml"):
        assert files[name] == (BUCKET / name).read_text(), name


def test_the_tutorial_runs_as_written(spark_server: LiveServer, tmp_path: Path) -> None:
    for name, content in tutorial_files().items():
        (tmp_path / name).write_text(content)
    _, token = spark_server.new_user()
    env = {"RUNYARD_URL": spark_server.url, "RUNYARD_TOKEN": token, "XDG_CONFIG_HOME": str(tmp_path)}

    def runyard(args: list[str]) -> str:
        with CliRunner().isolation(env=env) as (stdout, _, _):
            previous = os.getcwd()
            os.chdir(tmp_path)
            try:
                COMMAND.main(args=args, prog_name="runyard", standalone_mode=False)
                sys.stdout.flush()  # --json writes to sys.stdout, which buffers
            finally:
                os.chdir(previous)
            return stdout.getvalue().decode()

    instance_id, master, secret = "1", "", ""
    shown: dict[str, str] = {}
    for command in tutorial_commands():
        if is_spark_submit(command):
            assert MASTER_PLACEHOLDER in command and SECRET_PLACEHOLDER in command and master and secret
            shown["spark-submit"] = spark_submit(master, secret, tmp_path)
            continue
        assert command[0] == "runyard", command
        command = command[1:]
        if command[:2] == ["service", "start"]:
            command = [*command, "--var", "HEALTH_CHECK_CRON=* * * * * */1"]  # a fast health check
        command = [instance_id if word == "1" else word for word in command]
        output = runyard(command)
        if "--json" not in command:
            shown[" ".join(command[:2])] = output
        if command[:2] == ["service", "start"]:
            found = re.search(r"service instance (\d+)", output)
            assert found is not None, output
            instance_id = found.group(1)
        if command[:2] == ["service", "info"] and "--json" in command:
            secret = json.loads(output)["variables"]["SPARK_AUTHENTICATE_SECRET"]
            continue
        if command[:2] == ["service", "info"]:
            found = re.search(r"endpoint\s+spark-master-\d+: (spark://\S+)", output)
            assert found is not None, output
            master = found.group(1)
    assert "status    RUNNING" in shown["service info"], shown["service info"]
    assert len(re.findall(r"endpoint\s+\S+-gui: http://", shown["service info"])) == 3
    assert SUM_PRINTED in shown["spark-submit"]
    assert "status    FINISHED" in shown["service action"], shown["service action"]
