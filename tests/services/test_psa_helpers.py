"""The helper API functions no shipped service uses, run by real workflows of a user's own service:
deployments given as JSON, variables propagated to and retrieved from the instance (the retrieval in a
bash task, through ``runyard psa``), a finish decided by a status file, tokens removed once idle; and a
service whose process dies before it listens, or whose port another program took."""

from __future__ import annotations

import sys
import time
import uuid

import pytest

from runyard.client import ApiError, Client
from support.server import LiveServer

START = """
name: Helpers_Demo
variables:
  INSTANCE_NAME: helpers-$PA_JOB_ID
  COLOR: blue
generic_information:
  pca.service.id: SERVICE_ID
  pca.states: (VOID,RUNNING)
tasks:
  Deploy:
    script:
      cpython: |-
        import json
        from runyard.services import launch, psa
        port = launch.service_port(variables)  # an endpoint is recorded on a port reserved for the instance
        endpoint = {"id": "web", "url": f"http://127.0.0.1:{port}/", "proxyfied_url": "http://proxy/web/"}
        variables["DEPLOY0"] = json.dumps({"endpoint": endpoint, "node": {"name": variables["PA_NODE_NAME"]}})
        psa.propagate_variables_to_current_service(variables, "GREETING", "hello", "COLOR", "VARIABLE_VALUE")
        psa.add_deployments_and_update_service(variables, "DEPLOY", 1)  # last: RUNNING ends the wait
"""

FINISH = """
name: Helpers_Finish
variables:
  INSTANCE_NAME: helpers
  PYTHON: python3
  OUTCOME: ok
generic_information:
  pca.service.id: SERVICE_ID
  pca.states: (RUNNING,FINISHED)
tasks:
  Retrieve:
    script:
      bash: |-
        "$variables_PYTHON" -m runyard psa retrieve-variables-from-service-instance-id \\
          "$variables_PCA_INSTANCE_ID" COPIED GREETING MIXED '%{GREETING}-%{COLOR}'
  Decide:
    depends: [Retrieve]
    script:
      cpython: |-
        from pathlib import Path
        from runyard.services import psa
        assert (variables["COPIED"], variables["MIXED"]) == ("hello", "hello-blue"), variables
        Path("cleaning.txt").write_text("ok|" + variables["OUTCOME"])
        psa.update_service_and_remove_tokens(variables, "null", "PSA_none")
        psa.set_service_finished_if_all_clean_ok(variables, "FINISHED", "cleaning.txt")
"""

CRASHING = """
name: Crashing_Start
variables:
  INSTANCE_NAME: crashing-$PA_JOB_ID
  PYTHON: python3
generic_information:
  pca.service.id: SERVICE_ID
  pca.states: (VOID,RUNNING)
tasks:
  Start:
    script:
      cpython: |-
        from runyard.services import launch
        launch.service_port(variables)
        launch.start_process(variables, [variables["PYTHON"], "-c", "raise SystemExit(3)"])
    cleaning:
      cpython: |-
        from runyard.services import psa
        psa.clean_start_service(variables)
"""

# Another program takes the reserved port before the service binds it (here the start task itself): the
# service cannot bind and exits, while the port keeps answering.
STOLEN = """
name: Stolen_Port_Start
variables:
  INSTANCE_NAME: stolen-$PA_JOB_ID
  PYTHON: python3
generic_information:
  pca.service.id: SERVICE_ID
  pca.states: (VOID,RUNNING)
tasks:
  Start:
    script:
      cpython: |-
        import socket
        from runyard.services import launch
        port = launch.service_port(variables)
        thief = socket.create_server(("127.0.0.1", port))
        bind = f"import socket, time; socket.create_server(('127.0.0.1', {port})); time.sleep(60)"
        launch.start_process(variables, [variables["PYTHON"], "-c", bind])
    cleaning:
      cpython: |-
        from runyard.services import psa
        psa.clean_start_service(variables)
"""


@pytest.fixture
def client_with_service(sqlite_server: LiveServer) -> tuple[Client, str]:
    """A user with a service of two workflows in a bucket of theirs; its id is unique to the test."""
    _, token = sqlite_server.new_user()
    client = Client(sqlite_server.url, token)
    service_id = f"Helpers_{uuid.uuid4().hex[:8]}"
    bucket = service_id.lower().replace("_", "-")
    client.create_bucket(bucket)
    for name, text in (
        ("Helpers_Demo", START),
        ("Helpers_Finish", FINISH),
        ("Crashing_Start", CRASHING),
        ("Stolen_Port_Start", STOLEN),
    ):
        client.push_object(bucket, name, text.replace("SERVICE_ID", service_id), kind="Workflow/psa")
    return client, service_id


def test_deployments_variables_and_a_finish_decided_by_a_status_file(
    client_with_service: tuple[Client, str],
) -> None:
    client, service_id = client_with_service
    with client:
        started = client.start_service(service_id, workflow="Helpers_Demo")
        instance = client.wait_for_service_instance(started["id"], timeout=60)
        assert instance["status"] == "RUNNING", instance
        (port,) = instance["ports"]
        assert instance["endpoints"] == {
            "web": {
                "url": f"http://127.0.0.1:{port}/",
                "proxyfied": True,
                # the proxy's own URL, not the one the service recorded (http://proxy/web/)
                "proxyfied_url": f"{client.url}/api/v1/service-instances/{instance['id']}/endpoints/web/",
            }
        }
        assert "scheduleradmins" in instance["groups"]
        assert (instance["variables"]["GREETING"], instance["variables"]["COLOR"]) == ("hello", "blue")
        client.run_service_action(instance["id"], "Helpers_Finish", {"PYTHON": sys.executable})
        done = client.wait_for_service_instance(instance["id"], timeout=60)
        assert done["status"] == "FINISHED", client.get_job_output(done["job_submissions"][-1]["job_id"])
        assert done["channel"]["FINISH_DONE"] == "true"


def test_a_ko_in_the_status_file_puts_the_instance_in_error(client_with_service: tuple[Client, str]) -> None:
    client, service_id = client_with_service
    with client:
        instance = client.wait_for_service_instance(
            client.start_service(service_id, workflow="Helpers_Demo")["id"], timeout=60
        )
        client.run_service_action(
            instance["id"], "Helpers_Finish", {"PYTHON": sys.executable, "OUTCOME": "ko"}
        )
        failed = client.wait_for_service_instance(instance["id"], timeout=60)
        assert (failed["status"], failed["error"]) == ("ERROR", "cleaning failed: ok|ko")
        output = _output_once_ended(client, failed["job_submissions"][-1]["job_id"])
        assert "cleaning failed: ok|ko" in output


def test_a_service_that_dies_before_listening_fails_its_start_at_once(
    client_with_service: tuple[Client, str],
) -> None:
    client, service_id = client_with_service
    with client:
        began = time.monotonic()
        started = client.start_service(service_id, {"PYTHON": sys.executable}, workflow="Crashing_Start")
        failed = client.wait_for_service_instance(started["id"], timeout=60)
        assert failed["status"] == "ERROR"
        assert time.monotonic() - began < 30  # not the 60 s readiness timeout
        output = _output_once_ended(client, failed["job_submissions"][0]["job_id"])
        assert "stopped (EXITED) before accepting connections" in output


def test_a_port_taken_before_the_service_binds_it_fails_the_start_however_it_answers(
    client_with_service: tuple[Client, str],
) -> None:
    """The port answers (another program holds it) but the service never listened: not RUNNING."""
    client, service_id = client_with_service
    with client:
        started = client.start_service(service_id, {"PYTHON": sys.executable}, workflow="Stolen_Port_Start")
        failed = client.wait_for_service_instance(started["id"], timeout=60)
        assert failed["status"] == "ERROR", failed
        # The start itself failed, naming the cause: the instance was never RUNNING.
        assert "ended before the service was RUNNING" in (failed["error"] or ""), failed["error"]
        assert "another process answers there: it took the port" in (failed["error"] or "")


def _output_once_ended(client: Client, job_id: int) -> str:
    """The job's whole output: the instance's status is set by a task before its output is all kept."""
    client.wait_for_job(job_id, timeout=60)
    return client.get_job_output(job_id)


SLOW_START = """
name: Slow_Start
variables:
  INSTANCE_NAME: slow-$PA_JOB_ID
generic_information:
  pca.service.id: SERVICE_ID
  pca.states: (VOID,RUNNING)
tasks:
  Start:
    script:
      bash: sleep 60
"""


def test_a_start_giving_back_the_void_status_it_read_keeps_its_transition(
    client_with_service: tuple[Client, str],
) -> None:
    """ProActive's service scripts read the whole instance and update it back (Docker_Swarm's
    Propagate_variables_to_current_service): the VOID status of a starting instance is accepted and
    changes nothing; a workflow may still set no VOID or ALL status."""
    client, service_id = client_with_service
    with client:
        bucket = service_id.lower().replace("_", "-")
        client.push_object(
            bucket, "Slow_Start", SLOW_START.replace("SERVICE_ID", service_id), kind="Workflow/psa"
        )
        started = client.start_service(service_id, workflow="Slow_Start")
        try:
            updated = client.update_service_instance(started["id"], status="VOID", variables={"NODES": "n1"})
            assert (updated["status"], updated["transition"]) == ("VOID", "VOID -> RUNNING")
            assert updated["variables"]["NODES"] == "n1"
            for status in ("ALL", "VOID; DROP TABLE service_instances"):
                with pytest.raises(ApiError) as refused:
                    client.update_service_instance(started["id"], status=status)
                assert refused.value.status == 400
            assert client.get_service_instance(started["id"])["transition"] == "VOID -> RUNNING"
        finally:
            client.kill_service_instance(started["id"])
