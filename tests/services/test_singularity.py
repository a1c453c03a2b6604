"""The singularity engine's command lines, and what it says when there is no apptainer/singularity."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard.services.engines import RunState, ServiceError, engine_for
from runyard.services.engines.singularity import (
    SingularityEngine,
    UnsupportedOperationError,
    find_binary,
    instance_list_command,
    instance_start_command,
    instance_stop_command,
)


def test_instance_start_splits_the_options_like_a_shell() -> None:
    command = instance_start_command(
        "apptainer", "lab.sif", "jupyter-7", "--bind '/data/my dir:/data' --cleanenv", ["--port", "8888"]
    )
    assert command == [
        "apptainer", "instance", "start", "--bind", "/data/my dir:/data", "--cleanenv",
        "lab.sif", "jupyter-7", "--port", "8888",
    ]  # fmt: skip
    assert instance_start_command("singularity", "x.sif", "x") == [
        "singularity",
        "instance",
        "start",
        "x.sif",
        "x",
    ]


def test_instance_stop_and_list() -> None:
    assert instance_stop_command("apptainer", "jupyter-7") == ["apptainer", "instance", "stop", "jupyter-7"]
    assert instance_list_command("apptainer") == ["apptainer", "instance", "list", "--json"]
    assert instance_list_command("apptainer", "db") == ["apptainer", "instance", "list", "--json", "db"]


def fake_tool(folder: Path, name: str, output: str) -> Path:
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{output}'\n")
    tool.chmod(0o755)
    return tool


def test_apptainer_is_preferred_to_singularity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    singularity = fake_tool(tmp_path, "singularity", "{}")
    assert find_binary() == str(singularity)
    apptainer = fake_tool(tmp_path, "apptainer", "{}")
    assert find_binary() == str(apptainer)


def test_the_state_comes_from_the_instance_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    fake_tool(tmp_path, "apptainer", '{"instances": [{"instance": "db", "pid": 4242, "img": "pg.sif"}]}')
    engine = engine_for("singularity")
    assert engine.state("db") == RunState.RUNNING
    assert engine.state("d") == RunState.MISSING  # the tool matches a pattern, the engine the exact name


def test_a_missing_binary_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServiceError, match="needs apptainer or singularity: neither is on the PATH"):
        SingularityEngine().state("db")
    with pytest.raises(ServiceError, match="neither is on the PATH"):
        SingularityEngine().stop("db")


def test_instances_cannot_be_paused() -> None:
    with pytest.raises(UnsupportedOperationError, match="cannot be paused"):
        SingularityEngine().pause("db")
    with pytest.raises(UnsupportedOperationError, match="cannot be paused"):
        SingularityEngine().resume("db")
