"""ProActive's clients against a real ``runyard server`` process: curl as in ProActive's documentation, and
the ``proactive`` Python package from PyPI (a JVM driven through py4j).

The ``proactive`` package is not one of runyard's dependencies (it brings its own JVM side and pins):
the test runs it from the interpreter ``$RUNYARD_PROACTIVE_PYTHON`` names (a venv with
``pip install proactive==13.0.3``), else from ``.venv-proactive/bin/python`` if it exists. Without
either it is skipped, except in CI (``$CI`` set), where it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from proactive_rest.conftest import RECORDED
from support.needs import missing
from support.server_process import add_user, free_port, server_process

HERE = Path(__file__).parent
USERNAME, PASSWORD = "alice", "a long password: with spaces & symbols"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("server")
    add_user(data_dir, USERNAME, PASSWORD)
    port = free_port()
    with server_process(data_dir, port):
        yield f"http://127.0.0.1:{port}"


def test_a_curl_session(url: str) -> None:
    assert shutil.which("curl"), "curl is needed"
    environment = {**os.environ, "URL": url, "USERNAME": USERNAME, "PASSWORD": PASSWORD}
    environment["WORKFLOW"] = str(RECORDED / "hello.xml")
    ran = subprocess.run(
        ["sh", str(HERE / "curl_session.sh")], env=environment, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("submitted job ")
    assert lines[1:] == [
        'results: {"Say":"hello curl"}',
        "Say: hello curl",
        "output:",
        "[Say] hello curl",
        "connected: false",
    ]


def _proactive_python() -> str:
    given = os.environ.get("RUNYARD_PROACTIVE_PYTHON")
    local = Path(__file__).parents[2] / ".venv-proactive" / "bin" / "python"
    python = given or (str(local) if local.exists() else None)
    if python is None:
        message = "the proactive package: set RUNYARD_PROACTIVE_PYTHON to a Python with it installed"
        missing(message)
    return python


@pytest.mark.timeout(300)
def test_the_proactive_python_client(url: str) -> None:
    python = _proactive_python()
    ran = subprocess.run(
        [
            python,
            str(HERE / "proactive_client_session.py"),
            url,
            USERNAME,
            PASSWORD,
            str(RECORDED / "hello.xml"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    said = dict(line.split(": ", 1) for line in ran.stdout.splitlines() if ": " in line)
    assert said["connected"] == "True"
    assert said["job result"] == "hello client"
    assert said["task result"] == "hello client"
    assert said["finished"] == "True"
    assert said["job name"] == "Hello"
    assert said["output"] == "hello client"
    assert said["status"] == "Finished"
    assert said["hosts"].startswith("[")
    assert said["catalog job result"] == "hello world"
