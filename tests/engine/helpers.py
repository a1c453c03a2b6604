"""Running workflows through the public interfaces: the Platform API and the ``runyard`` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from runyard.cli.main import app
from runyard.model import Script, ScriptExecutable, Task
from runyard.platform import Platform
from runyard.reports import JobReport
from runyard.settings import Settings

EXAMPLES = Path(__file__).parents[2] / "src" / "runyard" / "examples"


def python_task(name: str, code: str, *depends: str, **fields: Any) -> Task:
    return Task(
        name=name, executable=ScriptExecutable(Script("cpython", code=code)), depends=list(depends), **fields
    )


def bash_task(name: str, code: str, *depends: str, **fields: Any) -> Task:
    return Task(
        name=name, executable=ScriptExecutable(Script("bash", code=code)), depends=list(depends), **fields
    )


def fails_until(marker: Path) -> str:
    """cpython code that fails until the file ``marker`` exists (a fault the test then fixes)."""
    return f"import os\nif not os.path.exists({str(marker)!r}): raise RuntimeError('not fixed yet')"


@contextmanager
def platform(data_dir: Path, database_url: str | None = None, **settings: Any) -> Iterator[Platform]:
    with Platform(Settings(data_dir=data_dir, database_url=database_url, **settings)) as started:
        yield started


def tasks_by_name(report: JobReport | dict[str, Any]) -> dict[str, Any]:
    return {task["name"]: task for task in report["tasks"]}


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``runyard ARGS`` in this process; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def cli_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = cli(*args, "--json")
    assert out.strip(), f"no JSON on stdout (exit {code}); stderr:\n{err}"
    document: dict[str, Any] = json.loads(out)
    return code, document


def runyard_process(*args: str, **popen: Any) -> subprocess.Popen[str]:
    """``runyard ARGS`` as a real process (for tests that kill it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "runyard", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
