"""A server with nodes for a tuner and its samples, and a user with a bucket of cheap objectives."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from runyard.client import Client
from runyard.client.documents import Job
from support.server import LiveServer
from support.service_accounts import reachable_server

NODES = 5
"""The tuner's task holds one while its samples run: 4 samples at a time."""

#: A cheap objective: its minimum is 0 at x = 1, y = -1. ``FAIL_ABOVE`` makes samples with x above it fail.
SPHERE = """\
name: Sphere
variables:
  x: "0"
  y: "0"
  INPUT_VARIABLES: "{}"
  FAIL_ABOVE: "1000"
  SEARCH_SPACE: '{"x": "uniform(-4, 4)", "y": "uniform(-4, 4)"}'
tasks:
  Loss:
    script:
      cpython: |-
        import json
        x, y = float(variables["x"]), float(variables["y"])
        assert json.loads(variables["INPUT_VARIABLES"]) == {"x": x, "y": y}
        if x > float(variables["FAIL_ABOVE"]):
            raise RuntimeError(f"x = {x} is too large")
        variables.put("LOSS", (x - 1) ** 2 + (y + 1) ** 2)
"""
_buckets = itertools.count(1)


@dataclass
class Tuning:
    client: Client
    bucket: str

    def small_search(self, **variables: str) -> Job:
        """A Random search of 2 batches of 2 samples over ``Sphere`` with ``variables`` added, FINISHED."""
        search: dict[str, str | int] = {
            "TUNING_ALGORITHM": "Random",
            "WORKFLOW_TO_OPTIMIZE": f"{self.bucket}/Sphere",
            "MAX_ITERATIONS": 2,
            "PARALLEL_SAMPLES_PER_LOOP": 2,
            **variables,
        }
        tuner_id = self.client.submit_from_catalog("auto-ml-optimization", "Multi_Tuners_AutoML", search)
        tuner = self.client.wait_for_job(tuner_id, timeout=90)
        assert tuner["status"] == "FINISHED", self.client.get_job_output(tuner_id)
        return tuner


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with reachable_server(NODES) as started:  # Tensorboard's process runs as the user: a folder it reaches
        yield started


@pytest.fixture
def tuning(server: LiveServer) -> Iterator[Tuning]:
    """A new user's client and bucket, holding ``Sphere`` and ``Sphere_Failing`` (fails for x > 0)."""
    name, token = server.new_user()
    with Client(server.url, token) as client:
        bucket = f"objectives-{next(_buckets)}-{name}"
        client.create_bucket(bucket)
        client.push_object(bucket, "Sphere", SPHERE, kind="Workflow/standard")
        failing = SPHERE.replace('FAIL_ABOVE: "1000"', 'FAIL_ABOVE: "0"')
        client.push_object(bucket, "Sphere_Failing", failing, kind="Workflow/standard")
        yield Tuning(client, bucket)
