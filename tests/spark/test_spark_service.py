"""The Spark service (seed 002) through the SDK: a master and two workers on three distinct nodes, each
reserved; a job through the master's endpoint; another user kept out of its variables; the finish."""

from __future__ import annotations

import json
import os
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runyard.client import Client
from runyard.client.documents import ServiceInstance
from support.server import LiveServer
from support.service_lifecycle import finish, start

from .conftest import SUM_PRINTED, spark_submit

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def owner(spark_server: LiveServer) -> Iterator[Client]:
    with spark_server.new_client() as client:
        yield client


@pytest.fixture(scope="module")
def instance(owner: Client) -> ServiceInstance:
    # Three JVMs start one after the other (a master, then its workers): seconds alone, a minute on a busy
    # machine.
    return start(owner, "Spark", {"NUMBER_OF_WORKERS": "2"}, timeout=300)


def _processes(instance: ServiceInstance) -> list[dict[str, Any]]:
    return [d for d in instance["deployments"] if d.get("engine") == "process"]


def _pid(deployment: dict[str, Any]) -> int:
    return int(json.loads((Path(deployment["ref"]) / "state.json").read_text())["pid"])


def test_a_master_and_two_workers_on_three_nodes_each_reserved(instance: ServiceInstance) -> None:
    processes = _processes(instance)
    nodes = [d["node"]["name"] for d in processes]
    assert len(processes) == 3 and len(set(nodes)) == 3, nodes
    name = instance["variables"]["INSTANCE_NAME"]
    assert instance["variables"]["SPARK_NODES"].split(",") == nodes
    assert sorted((t["node"], t["token"]) for t in instance["node_tokens"]) == sorted(
        (node, f"PSA_{name}") for node in nodes
    )
    endpoints = instance["endpoints"]
    master = endpoints[instance["variables"]["ENDPOINT_ID"]]["url"]
    assert master == instance["variables"]["SPARK_MASTER_URL"] and master.startswith("spark://127.0.0.1:")
    guis = sorted(key for key in endpoints if key.endswith("-gui"))
    assert len(guis) == 3, endpoints
    gui = endpoints[f"{instance['variables']['ENDPOINT_ID']}-gui"]["url"]
    with urllib.request.urlopen(f"{gui}/json/", timeout=10) as answer:
        status = json.load(answer)
    assert status["status"] == "ALIVE" and status["aliveworkers"] == 2, status
    for deployment in processes:  # the owner's account runs them, never root, with the secret to itself
        assert os.stat(f"/proc/{_pid(deployment)}").st_uid != 0
        settings = Path(deployment["ref"]).parent / "conf" / "spark-defaults.conf"
        assert settings.stat().st_mode & 0o777 == 0o600
        assert "spark.authenticate true\n" in settings.read_text()


def test_spark_submit_through_the_master_endpoint(instance: ServiceInstance, tmp_path: Path) -> None:
    master = instance["endpoints"][instance["variables"]["ENDPOINT_ID"]]["url"]
    assert master is not None
    assert SUM_PRINTED in spark_submit(master, instance["variables"]["SPARK_AUTHENTICATE_SECRET"], tmp_path)


def _retrieve(client: Client, instance_id: int) -> dict[str, Any]:
    """A job of ``client``'s user reading the instance's SPARK_MASTER_URL with the catalog's task."""
    workflow = textwrap.dedent(
        f"""\
        name: Read_Spark
        tasks:
          Retrieve:
            from: service-automation/Retrieve_variables_from_service_instance_id
            variables:
              SERVICE_INSTANCE_ID: "{instance_id}"
              VARIABLE_PAIRS: READ SPARK_MASTER_URL
          Show:
            depends: [Retrieve]
            script:
              cpython: result = variables.get("READ")
        """
    )
    job = client.wait_for_job(client.submit(workflow), timeout=120)
    return {"job": job, "output": client.get_job_output(job["id"])}


def test_only_the_owner_retrieves_its_variables(
    spark_server: LiveServer, owner: Client, instance: ServiceInstance
) -> None:
    mine = _retrieve(owner, instance["id"])
    assert mine["job"]["status"] == "FINISHED", mine
    assert owner.get_task_result(mine["job"]["id"], "Show") == instance["variables"]["SPARK_MASTER_URL"]
    with spark_server.new_client() as stranger:
        theirs = _retrieve(stranger, instance["id"])
        statuses = {task["name"]: task["status"] for task in theirs["job"]["tasks"]}
        assert statuses["Retrieve"] != "FINISHED", theirs
        assert "403 forbidden: service instance" in theirs["output"], theirs["output"]
        assert stranger.get_task_result(theirs["job"]["id"], "Show") is None
        assert instance["variables"]["SPARK_MASTER_URL"] not in json.dumps(theirs)
    assert owner.get_service_instance(instance["id"])["status"] == "RUNNING"


def test_finish_stops_every_process_and_gives_the_nodes_back(
    owner: Client, instance: ServiceInstance
) -> None:
    pids = [_pid(d) for d in _processes(instance)]
    done = finish(owner, instance, "Finish_Spark")
    assert done["node_tokens"] == [] and done["ports"] == []
    deadline = time.monotonic() + 15
    alive = pids
    while alive := [pid for pid in alive if os.path.exists(f"/proc/{pid}")]:
        assert time.monotonic() < deadline, f"still running: {alive}"
        time.sleep(0.2)
