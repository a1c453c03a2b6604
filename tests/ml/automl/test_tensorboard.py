"""TENSORBOARD_ENABLED: the tuner writes its trials' scalars where the Tensorboard instance it names reads
them, and the running TensorBoard shows the run."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from support.server import LiveServer
from support.service_lifecycle import start, url

from .conftest import Tuning


def test_trials_are_logged_where_the_tensorboard_instance_reads(server: LiveServer, tuning: Tuning) -> None:
    client = tuning.client
    owner = client.whoami()["name"]
    name = f"tensorboard-{owner}"
    instance = start(client, "Tensorboard", {"INSTANCE_NAME": name})
    tuner = tuning.small_search(TENSORBOARD_ENABLED="true", TENSORBOARD_INSTANCE_NAME=name)
    tuner_id = tuner["id"]
    run = f"automl-{tuner_id}"
    logs = server.data_dir / "services" / owner / f"{instance['id']}-{name}" / "logs"
    assert [p.name.startswith("events.out.tfevents.") for p in Path(logs, run).iterdir()] == [True]
    board = url(instance).rstrip("/") + "/"
    deadline = time.monotonic() + 30  # TensorBoard looks for new runs every 5 s
    while run not in httpx.get(f"{board}data/runs").json():
        assert time.monotonic() < deadline, "TensorBoard does not list the run"
        time.sleep(0.5)
    scalars = httpx.get(f"{board}data/plugin/scalars/scalars", params={"run": run, "tag": "loss"}).json()
    assert [step for _, step, _ in scalars] == [0, 1, 2, 3]
