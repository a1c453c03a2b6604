"""VISDOM_ENABLED: the tuner draws each trial's loss, one point per trial, in a window of the running Visdom
instance it names, read back through Visdom's HTTP API."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runyard.ml.automl.visdom import TrialPlot
from runyard.ml.visdom import Visdom
from runyard.services.visdom import DEFAULT_PYTHON
from support.service_lifecycle import start, url

from .conftest import Tuning

pytestmark = pytest.mark.skipif(
    not Path(DEFAULT_PYTHON).is_file() and not os.environ.get("CI"),
    reason="no Visdom venv: build it with scripts/visdom (scripts/test does)",
)


def test_the_loss_of_each_trial_is_a_point_of_the_tuner_s_window(tuning: Tuning) -> None:
    client = tuning.client
    name = f"visdom-{client.whoami()['name']}"
    instance = start(client, "Visdom", {"INSTANCE_NAME": name})
    tuner = tuning.small_search(VISDOM_ENABLED="true", VISDOM_INSTANCE_NAME=name)
    tuner_id = tuner["id"]
    trials = [client.get_job(job) for job in json.loads(tuner["result_map"]["SAMPLE_JOB_IDS"])]
    losses = [
        next(t["variables"]["LOSS"] for t in job["tasks"] if "LOSS" in t["variables"]) for job in trials
    ]
    with Visdom(url(instance)) as visdom:
        window = visdom.window(f"automl-{tuner_id}")
    assert window is not None
    (trace,) = window["content"]["data"]
    assert (trace["name"], trace["x"]) == ("loss", [0, 1, 2, 3])
    assert trace["y"] == pytest.approx([float(loss) for loss in losses])
    assert set(json.loads(trace["text"][0])) == {"x", "y"}  # the trial's parameters, shown on hover

    again = TrialPlot(client, name, f"automl-{tuner_id}")  # a restarted tuner keeps the points drawn
    again.record(4, (0.5,), {"x": 1.0, "y": -0.3})
    again.close()
    with Visdom(url(instance)) as visdom:
        redrawn = visdom.window(f"automl-{tuner_id}")
    assert redrawn is not None
    (trace,) = redrawn["content"]["data"]
    assert (trace["x"], trace["y"][-1]) == ([0, 1, 2, 3, 4], 0.5)
    assert trace["y"][:4] == pytest.approx([float(loss) for loss in losses])
    client.kill_service_instance(instance["id"])


def test_without_a_running_visdom_the_tuner_fails_saying_so(tuning: Tuning) -> None:
    tuner_id = tuning.client.submit_from_catalog(
        "auto-ml-optimization",
        "Multi_Tuners_AutoML",
        {
            "WORKFLOW_TO_OPTIMIZE": f"{tuning.bucket}/Sphere",
            "VISDOM_ENABLED": "true",
            "VISDOM_INSTANCE_NAME": "none",
        },
    )
    tuner = tuning.client.wait_for_job(tuner_id, timeout=60)
    assert tuner["status"] != "FINISHED"
    assert "no running Visdom service instance is named 'none'" in tuning.client.get_job_output(tuner_id)
