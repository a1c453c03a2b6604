"""A Spark start that fails half-way (a worker Spark refuses) ends in ERROR saying why, with its nodes
given back, and Finish_Spark from there stops what it had started."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from support.server import LiveServer
from support.service_lifecycle import FAST, act

pytestmark = pytest.mark.timeout(600)


def test_a_failed_start_is_finished_from_error(spark_server: LiveServer) -> None:
    with spark_server.new_client() as client:
        # A worker with no memory: Spark's worker exits at once, after the master has started.
        variables = {**FAST, "NUMBER_OF_WORKERS": "1", "WORKER_MEMORY": "0m"}
        started = client.start_service("Spark", variables)
        failed = client.wait_for_service_instance(started["id"], timeout=300)
        assert failed["status"] == "ERROR", failed
        assert "Spark worker0" in (failed["error"] or ""), failed["error"]
        assert failed["node_tokens"] == [] and failed["variables"]["SERVICE_TOKEN"] == ""
        runs = [Path(d["ref"]) for d in failed["deployments"] if d.get("engine") == "process"]
        assert len(runs) == 2, failed["deployments"]  # the master and the worker, both recorded
        pids = [int(json.loads((run / "state.json").read_text())["pid"]) for run in runs]

        done = act(client, failed, "Finish_Spark", "FINISHED")
        assert done["error"] is None
        deadline = time.monotonic() + 15
        alive = pids
        while alive := [pid for pid in alive if os.path.exists(f"/proc/{pid}")]:
            assert time.monotonic() < deadline, f"still running: {alive}"
            time.sleep(0.2)
