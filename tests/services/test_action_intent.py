"""Intent before effect: an action is recorded (its transition and the key its job is stored under) before
its job is submitted, a kill before it stops anything. A real server killed -9 between the steps (held
there by the test-only ``RUNYARD_TEST_ONLY_SERVICE_ACTION_PAUSE``) is reconciled at its restart: a job
stored under the key is adopted, none means the action never ran and the transition fails, saying so;
a kill is carried out again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from runyard.client import Client
from runyard.services.automation import TEST_PAUSE
from support.server_process import add_user, free_port, server_process
from support.service_lifecycle import process_pid, start

USER, PASSWORD = "intent", "a long enough password"
BUCKET, SERVICE = "intent-demo", "Intent_Demo"
# A start that only reports RUNNING (running it twice does no harm), and a finish.
START = """
name: Intent_Start
variables:
  INSTANCE_NAME: intent-$PA_JOB_ID
generic_information:
  pca.service.id: Intent_Demo
  pca.states: (VOID,RUNNING)
tasks:
  Start:
    script:
      cpython: |-
        from runyard.services import psa
        psa.propagate_variables_to_current_service(variables, "STARTED_BY", variables["PA_JOB_ID"])
        with psa.client() as api:
            api.update_service_instance(psa.instance_id(variables), status="RUNNING")
"""
FINISH = START.replace("Intent_Start", "Intent_Finish").replace("(VOID,RUNNING)", "(RUNNING,FINISHED)")
FINISH = FINISH.replace('status="RUNNING"', 'status="FINISHED"')


@contextmanager
def _server(data_dir: Path, port: int, pause: str | None) -> Iterator[subprocess.Popen[str]]:
    if pause is not None:
        os.environ[TEST_PAUSE] = pause
    try:
        with server_process(data_dir, port, "--nodes", "2") as process:
            yield process
    finally:
        os.environ.pop(TEST_PAUSE, None)


def _client(port: int) -> Client:
    client = Client(f"http://127.0.0.1:{port}")
    client.login(USER, PASSWORD)
    return client


def _held_action(port: int, token: str, path: str, body: dict[str, object]) -> None:
    """Send an action the server holds at the crash point (its answer never comes)."""
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"http://127.0.0.1:{port}/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=1.5,
        )


def _until(check: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not callable(check) or not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _kill(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGKILL)  # the server and its node agents, at once
    process.wait(10)


@pytest.mark.timeout(300)  # three server starts: about 5 s each on an idle machine, 20 s on a loaded one
def test_actions_interrupted_by_a_killed_server_are_adopted_or_failed_at_the_restart(tmp_path: Path) -> None:
    add_user(tmp_path, USER, PASSWORD)
    port = free_port()
    # Killed once the finish's job is stored, before the instance records it.
    with _server(tmp_path, port, "after-submit:Intent_Finish:60") as process, _client(port) as client:
        client.create_bucket(BUCKET)
        for name, text in (("Intent_Start", START), ("Intent_Finish", FINISH)):
            client.push_object(BUCKET, name, text, kind="Workflow/psa")
        first = client.start_service(SERVICE)["id"]
        assert client.wait_for_service_instance(first, timeout=60)["status"] == "RUNNING"
        web = start(client, "Static_HTTP", {})
        _held_action(port, client.token or "", f"/service-instances/{first}/actions/Intent_Finish", {})
        _until(lambda: client.list_jobs(name="Intent_*")["total"] == 2, "the finish's job was not stored")
        held = client.get_service_instance(first)
        assert held["transition"] == "RUNNING -> FINISHED" and len(held["job_submissions"]) == 1
        _kill(process)
    # Adopted at the restart; then a kill and a start stopped after their records, before their effects.
    pauses = "before-submit:Intent_Start:60,before-stop:kill:60"
    with _server(tmp_path, port, pauses) as process, _client(port) as client:
        jobs = client.list_jobs(name="Intent_*")
        assert jobs["total"] == 2  # adopted, not submitted again
        finish_job = max(job["id"] for job in jobs["jobs"])
        adopted = client.get_service_instance(first)
        assert [(s["job_id"], s["transition_state"]) for s in adopted["job_submissions"]][-1] == (
            finish_job,
            "RUNNING -> FINISHED",
        )
        _held_action(port, client.token or "", f"/service-instances/{web['id']}/kill", {})
        assert client.get_service_instance(web["id"])["status"] == "KILLED"
        _held_action(port, client.token or "", "/service-instances", {"service_id": SERVICE})
        (second,) = [i for i in client.list_service_instances("all") if i["id"] not in (first, web["id"])]
        assert (second["status"], second["transition"]) == ("VOID", "VOID -> RUNNING")
        _kill(process)
    with _server(tmp_path, port, None), _client(port) as client:
        done = client.wait_for_service_instance(first, timeout=60)
        assert done["status"] == "FINISHED" and done["variables"]["STARTED_BY"] == str(finish_job), (
            done["error"],
            client.get_job_output(finish_job),
        )
        failed = client.get_service_instance(second["id"])
        assert (failed["status"], failed["transition"], failed["job_submissions"]) == ("ERROR", None, [])
        assert "before the job of intent-demo/Intent_Start was stored" in (failed["error"] or "")
        assert client.list_jobs(name="Intent_*")["total"] == 2  # the start was never submitted, nor is it now
        assert client.kill_service_instance(second["id"])["status"] == "KILLED"
        # The kill is carried out: the service stopped on its node, its node and port given back.
        _until(lambda: not client.get_service_instance(web["id"])["ports"], "the kill was not carried out")
        with pytest.raises(ProcessLookupError):
            os.kill(process_pid(web), 0)
        assert not client.get_service_instance(web["id"])["node_tokens"]
