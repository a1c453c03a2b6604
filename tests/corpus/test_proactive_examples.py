"""The 71 job workflows of ProActive's public examples: all valid here, the quick ones run to FINISHED.

``bench/proactive_corpus.py`` tries every one of them on a server and prints the table of outcomes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from formats.workflow_corpus import EXAMPLES, JOB_FILES
from runyard import formats
from runyard.cli.main import app
from runyard.client import Client
from runyard.scheduler.submission import unrunnable
from support.server import LiveServer, live_server

WORKFLOWS = [path for path in JOB_FILES if path.is_relative_to(EXAMPLES)]

#: Workflows that need nothing this machine lacks and end in seconds (once their engines are there).
QUICK = [
    "GetStarted/resources/catalog/native_task.xml",
    "Controls/resources/catalog/loop.xml",
    "Controls/resources/catalog/branch.xml",
    pytest.param(
        "Controls/resources/catalog/replicate.xml",
        marks=pytest.mark.xfail(
            reason="Split's result [0:'abc', 1:'def'] reaches Process with string keys (a JSON object), so "
            "value()[replication] is null; ProActive keeps the Integer keys (Java serialization)",
            strict=False,
        ),
    ),
]


def test_the_corpus_is_the_71_job_workflows() -> None:
    assert len(WORKFLOWS) == 71


def test_every_corpus_workflow_passes_runyard_validate() -> None:
    result = CliRunner().invoke(app, ["validate", *map(str, WORKFLOWS)])
    assert result.exit_code == 0, result.output
    assert result.output.count(": valid (") == 71
    assert "error:" not in result.output


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("corpus")) as started:
        yield started


@pytest.mark.parametrize("name", QUICK)
def test_quick_workflows_finish(server: LiveServer, name: str) -> None:
    path = EXAMPLES / name
    missing = unrunnable(formats.load(path))
    if missing:
        pytest.skip(f"not runnable here yet: {missing[0]}")
    _, token = server.new_user()
    with Client(server.url, token) as client:
        job_id = client.submit(Path(path))
        job = client.wait_for_job(job_id, timeout=50)
        assert job["status"] == "FINISHED", client.get_job_result(job_id)
        assert not client.get_job_result(job_id)["errors"]
