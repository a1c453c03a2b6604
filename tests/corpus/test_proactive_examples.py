"""The 71 job workflows of ProActive's public examples: all valid here, every one whose needs exist here
runs to FINISHED (or, the endless cron, runs as designed).

``bench/proactive_corpus.py`` tries every one of them on a server and prints the table of outcomes; this
module runs the ones that FINISH through the same code (a new user, the corpus' catalog imported, signals
answered as the user would), all at once on one server.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from formats.workflow_corpus import EXAMPLES, JOB_FILES
from runyard import formats
from runyard.cli.main import app
from runyard.client import ApiError, Client
from runyard.client.catalog_import import import_catalog
from runyard.scheduler.submission import unrunnable
from support.needs import missing
from support.server import LiveServer, live_server


def _harness() -> Any:
    """bench/proactive_corpus.py, loaded from its file (bench is no package, and its folder on sys.path
    would make bench/api.py shadow the tests' ``api`` package)."""
    spec = importlib.util.spec_from_file_location("proactive_corpus", BENCH / "proactive_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


BENCH = Path(__file__).resolve().parents[2] / "bench"
harness = _harness()

WORKFLOWS = [path for path in JOB_FILES if path.is_relative_to(EXAMPLES)]

#: Every corpus workflow that FINISHes here in seconds. The others that FINISH wait for a cron minute or
#: sleep up to 30 s (``bench/proactive_corpus.py``'s TIMEOUTS): too slow for the suite.
FINISHING = [
    "Controls/resources/catalog/branch.xml",
    "Controls/resources/catalog/loop.xml",
    "Controls/resources/catalog/replicate.xml",
    "Controls/resources/catalog/submit_job_no_wait.xml",
    "Controls/resources/catalog/Wait_For_Signals_Reactive.xml",
    "Controls/resources/catalog/Wait_For_Signals_Reactive_With_Variables.xml",
    "GetStarted/resources/catalog/native_task.xml",
    "GetStarted/resources/catalog/multi_node_task.xml",
    "CycleCloud/resources/catalog/Python_Task_In_Slurm.xml",
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
        with Client(started.url, started.admin_token) as admin:
            import_catalog(admin, EXAMPLES)
        yield started


@pytest.fixture(scope="module")
def outcomes(server: LiveServer) -> dict[str, tuple[str, str]]:
    """Each FINISHING workflow run at once, as a new user: name → (outcome, detail)."""
    runnable = [name for name in FINISHING if not unrunnable(formats.load(EXAMPLES / name))]
    _, token = server.new_user()

    def attempt(name: str) -> tuple[str, str]:
        with Client(server.url, token) as client:
            row = harness.try_workflow(client, EXAMPLES / name, 60)
            return str(row.outcome), str(row.detail)

    with ThreadPoolExecutor(len(runnable) or 1) as pool:
        return dict(zip(runnable, pool.map(attempt, runnable), strict=True))


@pytest.mark.parametrize("name", FINISHING)
def test_workflows_whose_needs_exist_here_finish(outcomes: dict[str, tuple[str, str]], name: str) -> None:
    if name not in outcomes:
        reason = unrunnable(formats.load(EXAMPLES / name))[0]
        missing(f"not runnable here: {reason} (scripts/setup installs what it needs)")
    assert outcomes[name] == ("FINISHED", "")


def test_only_the_jobs_owner_answers_its_signals(server: LiveServer) -> None:
    """Another user can neither see nor send the signals a corpus job waits for; its owner can."""
    path = EXAMPLES / "Controls/resources/catalog/Wait_For_Signals_Reactive.xml"
    if unrunnable(formats.load(path)):
        missing("groovy is not runnable here (scripts/setup installs it)")
    _, owner_token = server.new_user()
    _, other_token = server.new_user()
    with Client(server.url, owner_token) as owner, Client(server.url, other_token) as other:
        job_id = owner.submit(path)
        deadline = time.monotonic() + 60
        while not owner.list_signals(job_id)["signals"] and time.monotonic() < deadline:
            time.sleep(0.2)
        sent: list[str] = []
        with pytest.raises(ApiError) as refused:
            harness.answer_signals(other, job_id, sent)
        assert refused.value.status in (403, 404) and not sent
        with pytest.raises(ApiError):
            other.send_signal(job_id, "stop", {"'; DROP TABLE jobs; --": "x" * 10_000})
        assert owner.get_job(job_id)["status"] == "RUNNING"
        harness.answer_signals(owner, job_id, sent)
        assert owner.wait_for_job(job_id, timeout=60)["status"] == "FINISHED"
        assert len(sent) == 1


PUBLIC_URLS = """
name: Public_Urls
tasks:
  Links:
    script:
      cpython: |-
        names = ["PA_SCHEDULER_REST", "PA_CATALOG_REST", "PA_CLOUD_AUTOMATION_REST"]
        result = {n: [variables[n + "_URL"], variables[n + "_PUBLIC_URL"]] for n in names}
"""


def test_tasks_get_proactives_public_urls(server: LiveServer) -> None:
    """Hybrid_Simulation links its result with ``PA_SCHEDULER_REST_PUBLIC_URL``: each public URL is set,
    the server's own (already public) URL."""
    _, token = server.new_user()
    with Client(server.url, token) as client:
        job_id = client.submit(PUBLIC_URLS)
        assert client.wait_for_job(job_id, timeout=60)["status"] == "FINISHED"
        urls = client.get_task_result(job_id, "Links")
    assert urls["PA_SCHEDULER_REST"] == [f"{server.url}/api/v1"] * 2
    assert urls["PA_CATALOG_REST"] == [f"{server.url}/api/v1/catalog"] * 2
    assert urls["PA_CLOUD_AUTOMATION_REST"] == [f"{server.url}/cloud-automation-service"] * 2
