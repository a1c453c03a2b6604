"""The hostile-user helper itself: a user runs code, pushes workflows, and is refused what is not its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hostile import hostile_users
from support.server import LiveServer, live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server")) as started:
        yield started


def test_a_hostile_user_runs_code_and_reads_its_output(server: LiveServer) -> None:
    mallory, _, _ = hostile_users(server)
    run = mallory.run("print('probe')\nresult = 6 * 7")
    assert (run.status, run.task_status, run.result) == ("FINISHED", "FINISHED", 42)
    assert "probe" in run.output
    bash = mallory.run("echo from-bash", language="bash")
    assert bash.status == "FINISHED" and "from-bash" in bash.output


def test_a_hostile_user_pushes_to_its_own_bucket_only(server: LiveServer, tmp_path: Path) -> None:
    mallory, eve, _ = hostile_users(server)
    workflow = "name: Mine\ntasks:\n  T:\n    script:\n      cpython: result = 1\n"
    mallory.push(f"{mallory.name}-bucket", "Mine", workflow)
    with pytest.raises(AssertionError):
        eve.push(f"{mallory.name}-bucket", "Mine", workflow)
    refused = eve.submit_answer("name: [broken")
    assert refused.status_code == 400
