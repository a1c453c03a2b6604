"""A service whose actions run on SLURM: ``NATIVE_SCHEDULER`` and ``NATIVE_SCHEDULER_PARAMS`` are variables of
the service (as in ProActive's service catalog) that its workflow's generic information names; its start
task runs in a SLURM job submitted for it with those parameters, and its endpoint is recorded from there."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.settings import NodeSourceConfig
from support.server import LiveServer, live_server

START = """
name: Native_Demo
variables:
  INSTANCE_NAME: native-$PA_JOB_ID
  NATIVE_SCHEDULER: ""
  NATIVE_SCHEDULER_PARAMS: ""
generic_information:
  pca.service.id: SERVICE_ID
  pca.states: (VOID,RUNNING)
  NATIVE_SCHEDULER: $NATIVE_SCHEDULER
  NATIVE_SCHEDULER_PARAMS: $NATIVE_SCHEDULER_PARAMS
tasks:
  Deploy:
    script:
      cpython: |-
        import json, os
        from runyard.services import launch, psa
        port = launch.service_port(variables)
        endpoint = {"id": "web", "url": f"http://127.0.0.1:{port}/"}
        variables["DEPLOY0"] = json.dumps({"endpoint": endpoint, "node": {"name": variables["PA_NODE_NAME"]}})
        job = os.environ.get("SLURM_JOB_ID", ""), os.environ.get("SLURM_JOB_NAME", "")
        psa.propagate_variables_to_current_service(variables, "SLURM_JOB", " ".join(job))
        psa.add_deployments_and_update_service(variables, "DEPLOY", 1)
"""


@pytest.fixture(scope="module")
def server(slurm_conf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    slurm = NodeSourceConfig(
        "slurm",
        "slurm",
        {"min_jobs": 0, "max_jobs": 0, "native_slots": 1, "memory": "512MiB", "interface": "lo"},
    )
    local = NodeSourceConfig("local", "local", {"nodes": 1})
    with live_server(tmp_path_factory.mktemp("server"), node_sources=(local, slurm)) as started:
        yield started


def test_a_service_started_with_native_scheduler_runs_its_start_in_a_slurm_job(server: LiveServer) -> None:
    with server.new_client() as client:
        service_id = f"Native_{uuid.uuid4().hex[:8]}"
        bucket = service_id.lower().replace("_", "-")
        client.create_bucket(bucket)
        client.push_object(
            bucket, "Native_Demo", START.replace("SERVICE_ID", service_id), kind="Workflow/psa"
        )
        params = "--time=4 --job-name=runyard-service-probe"
        started = client.start_service(
            service_id,
            {"NATIVE_SCHEDULER": "SLURM", "NATIVE_SCHEDULER_PARAMS": params},
            workflow="Native_Demo",
        )
        instance = client.wait_for_service_instance(started["id"], timeout=90)
        assert instance["status"] == "RUNNING", instance
        job_id, job_name = instance["variables"]["SLURM_JOB"].split()
        assert job_id.isdigit() and job_name == "runyard-service-probe"
        assert instance["deployments"][0]["node"]["name"].startswith("slurm-native-"), instance


def test_a_service_native_scheduler_no_source_takes_fails_with_the_reason(server: LiveServer) -> None:
    with server.new_client() as client:
        service_id = f"Native_{uuid.uuid4().hex[:8]}"
        bucket = service_id.lower().replace("_", "-")
        client.create_bucket(bucket)
        client.push_object(
            bucket, "Native_Demo", START.replace("SERVICE_ID", service_id), kind="Workflow/psa"
        )
        started = client.start_service(service_id, {"NATIVE_SCHEDULER": "LSF"}, workflow="Native_Demo")
        instance = client.wait_for_service_instance(started["id"], timeout=60)
        assert instance["status"] == "ERROR", instance


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (
            {"job_extra_directives": ["--uid=0"]},
            "job_extra_directives: Value error, job_extra_directives: option",
        ),
        ({"job_extra_directives": ["--comment=a\nsleep 1"]}, "control character"),
        ({"min_jobs": 0, "max_jobs": 2}, "min_jobs must be 1 at least"),
        ({"min_jobs": 3, "max_jobs": 2}, "max_jobs (2) < min_jobs (3)"),
        ({"python": "python3; id"}, "python: String should match pattern"),
        ({"partition": "debug"}, "partition: Extra inputs are not permitted"),
    ],
)
def test_bad_slurm_options_are_refused_and_nothing_is_kept(
    server: LiveServer, options: dict[str, object], reason: str
) -> None:
    with server.client(server.admin_token) as admin:
        answer = admin.post("/node-sources", json={"name": "bad", "type": "slurm", "options": options})
        assert answer.status_code == 400, answer.text
        assert reason in answer.json()["message"]
        assert "bad" not in [source["name"] for source in admin.get("/node-sources").json()]


def test_a_slurm_source_added_at_run_time_takes_native_tasks(server: LiveServer) -> None:
    options = {"max_jobs": 0, "min_jobs": 0, "native_slots": 1, "memory": "512MiB", "interface": "lo"}
    with server.client(server.admin_token) as admin:
        added = admin.post("/node-sources", json={"name": "extra", "type": "slurm", "options": options})
        assert added.status_code == 201, added.text
        try:
            with server.new_client() as client:
                done = client.wait_for_job(client.submit(NATIVE_JOB), timeout=90)
                (task,) = done["tasks"]
                assert (task["status"], task["node"]) == ("FINISHED", "extra-native-1"), task
        finally:
            assert admin.delete("/node-sources/extra").status_code == 204


NATIVE_JOB = """
name: native-at-run-time
generic_information:
  NATIVE_SCHEDULER: extra
tasks:
  T:
    script:
      bash: test -n "$SLURM_JOB_ID"
"""
