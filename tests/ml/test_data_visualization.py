"""The data-visualization bucket: its example workflows bind or start Visdom and Tensorboard instances and
draw in them; its actions task finishes them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runyard.client import Client
from runyard.ml.visdom import Visdom
from runyard.services.visdom import DEFAULT_PYTHON
from support.server import LiveServer
from support.service_accounts import reachable_server
from support.service_lifecycle import start

BUCKET = "data-visualization"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with reachable_server(4) as started:  # the services' processes run as the user: a folder it reaches
        yield started


@pytest.fixture
def client(server: LiveServer) -> Iterator[Client]:
    _, token = server.new_user()
    with Client(server.url, token) as client:
        yield client


def _window(visdom: Visdom, win: str) -> dict[str, Any]:
    shown = visdom.window(win)
    assert shown is not None, f"no window {win}"
    return shown


def _run(client: Client, workflow: str, **variables: str) -> tuple[int, dict[str, str]]:
    """Run ``workflow`` of the bucket to FINISHED; its id and the variables its last task ended with."""
    job_id = client.submit_from_catalog(BUCKET, workflow, variables)
    return _finished(client, job_id)


def _act(client: Client, task: str, **variables: str) -> None:
    """Run the actions task ``task`` of the bucket, with ``variables``, to FINISHED."""
    own = "".join(f"\n      {name}: '{value}'" for name, value in variables.items())
    workflow = f"name: Act\ntasks:\n  {task}:\n    from: {BUCKET}/{task}\n    variables:{own}\n"
    _finished(client, client.submit(workflow))


def _finished(client: Client, job_id: int) -> tuple[int, dict[str, str]]:
    job = client.wait_for_job(job_id, timeout=120)
    statuses = {t["status"] for t in job["tasks"]}
    assert (job["status"], statuses) == ("FINISHED", {"FINISHED"}), client.get_job_output(job_id)
    last = max(job["tasks"], key=lambda t: t["finished_at"] or 0.0)
    return job_id, {k: str(v) for k, v in last["variables"].items()}


@pytest.mark.skipif(
    not Path(DEFAULT_PYTHON).is_file() and not os.environ.get("CI"),
    reason="no Visdom venv: build it with scripts/visdom (scripts/test does)",
)
def test_visdom_examples_draw_in_one_instance(client: Client) -> None:
    name = f"visdom-{client.whoami()['name']}"
    plots_job, passed = _run(client, "Visdom_Plot_Example", VISDOM_INSTANCE_NAME=name)
    instance = client.get_service_instance(int(passed["INSTANCE_ID"]))
    assert (instance["status"], instance["label"]) == ("RUNNING", name)
    with Visdom(passed["VISDOM_ENDPOINT"]) as visdom:
        lines = _window(visdom, f"{plots_job}-lines")
        assert [t["name"] for t in lines["content"]["data"]] == ["sin", "cos"]
        assert "Visdom_Plots" in _window(visdom, f"{plots_job}-text")["content"]

        results_job, bound = _run(client, "Visdom_Service_Example", VISDOM_INSTANCE_NAME=name)
        assert bound["INSTANCE_ID"] == passed["INSTANCE_ID"]  # bound, not started again
        confusion = _window(visdom, f"{results_job}-results-confusion")["content"]["data"][0]
        assert confusion["type"] == "heatmap" and len(confusion["z"]) == 3
        assert "precision" in _window(visdom, f"{results_job}-results-target")["content"]

    client.run_service_action(instance["id"], "Finish_Visdom")


def test_tensorboard_example_writes_a_run_it_shows(client: Client) -> None:
    name = f"tensorboard-{client.whoami()['name']}"
    job_id, passed = _run(client, "Tensorboard_Plots_Example", TENSORBOARD_INSTANCE_NAME=name)
    run = f"plots-{job_id}"
    assert list(Path(passed["TENSORBOARD_LOG_PATH"], run).glob("events.out.tfevents.*"))
    board = passed["TENSORBOARD_ENDPOINT"]
    deadline = time.monotonic() + 30  # TensorBoard looks for new runs every 5 s
    while run not in httpx.get(f"{board}/data/runs").json():
        assert time.monotonic() < deadline, "TensorBoard does not list the run"
        time.sleep(0.5)
    client.run_service_action(int(passed["INSTANCE_ID"]), "Finish_Tensorboard")


def test_an_actions_task_acts_only_on_instances_its_job_started(client: Client) -> None:
    """A job's token (what its tasks hold) runs actions on the instances that job started, never on the
    owner's others: a hijacked task of one job cannot stop the services of the owner's other work."""
    name = f"tensorboard-{client.whoami()['name']}"
    instance = start(client, "Tensorboard", {"INSTANCE_NAME": name})
    try:
        task_name = "Tensorboard_Service_Actions"
        workflow = (
            f"name: Act\ntasks:\n  {task_name}:\n    from: {BUCKET}/{task_name}\n"
            f"    variables:\n      INSTANCE_NAME: '{name}'\n"
        )
        job = client.wait_for_job(client.submit(workflow), timeout=120)
        (task,) = job["tasks"]
        assert "runs actions only on the service instances its job" in str(task["error"]), task
        assert client.get_service_instance(instance["id"])["status"] == "RUNNING"
    finally:
        client.kill_service_instance(instance["id"])
