"""``runyard kernel install``: the kernelspec Jupyter finds, where it is asked to be written."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from typer.testing import CliRunner

from runyard.cli.main import app


def test_install_under_a_prefix_writes_a_kernelspec_running_this_python(jupyter_path: Path) -> None:
    spec = json.loads((jupyter_path / "kernels" / "runyard" / "kernel.json").read_text())
    assert spec["argv"] == [sys.executable, "-m", "runyard.kernel", "-f", "{connection_file}"]
    assert spec["display_name"] == "runyard" and spec["language"] == "python"
    assert KernelSpecManager().get_kernel_spec("runyard").resource_dir == str(
        jupyter_path / "kernels" / "runyard"
    )


def test_install_for_the_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["kernel", "install", "--user", "--name", "runyard-test"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "kernels" / "runyard-test" / "kernel.json").is_file()


def test_user_and_prefix_together_are_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["kernel", "install", "--user", "--prefix", str(tmp_path)])
    assert result.exit_code == 2
    assert "not both" in result.output
    assert not list(tmp_path.iterdir())


def test_a_kernelspec_name_with_a_path_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["kernel", "install", "--prefix", str(tmp_path), "--name", "../../evil"])
    assert result.exit_code == 2
    assert "cannot install" in result.output
    assert not (tmp_path.parent / "evil").exists()


def test_without_ipykernel_the_install_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *rest: None if name == "ipykernel" else real(name, *rest)
    )
    result = CliRunner().invoke(app, ["kernel", "install", "--prefix", str(tmp_path)])
    assert result.exit_code == 2
    assert "pip install 'runyard[kernel]'" in result.output
    assert not list(tmp_path.iterdir())
