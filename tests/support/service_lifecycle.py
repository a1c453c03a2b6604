"""Driving a shipped service through the SDK in tests: start it, run its actions, check what it leaves."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from runyard.client import Client
from runyard.client.documents import ServiceEndpoint, ServiceInstance
from runyard.client.errors import WaitTimeout

#: A health check every second, so that a test sees a dead service at once.
FAST = {"HEALTH_CHECK_CRON": "* * * * * */1"}
TIMEOUT = 60


def start(
    client: Client, service: str, variables: dict[str, str], timeout: float = TIMEOUT
) -> ServiceInstance:
    """Start ``service`` and wait until it is RUNNING (else fail with the output of its jobs)."""
    started = client.start_service(service, {**FAST, **variables})
    instance = client.wait_for_service_instance(started["id"], timeout=timeout)
    if instance["status"] != "RUNNING":
        logs = "\n".join(client.get_job_output(s["job_id"]) for s in instance["job_submissions"])
        raise AssertionError(
            f"{service} instance {instance['id']} is {instance['status']}: {instance}\n{logs}"
        )
    return instance


def act(client: Client, instance: ServiceInstance, action: str, status: str) -> ServiceInstance:
    """Run ``action`` on ``instance`` and wait until its status is ``status``."""
    client.run_service_action(instance["id"], action)
    done = client.wait_for_service_instance(instance["id"], timeout=TIMEOUT)
    if done["status"] != status:
        logs = "\n".join(client.get_job_output(s["job_id"]) for s in done["job_submissions"])
        raise AssertionError(f"{action} left instance {done['id']} {done['status']}: {done}\n{logs}")
    return done


def endpoint(instance: ServiceInstance) -> ServiceEndpoint:
    (only,) = instance["endpoints"].values()
    return only


def url(instance: ServiceInstance, proxied: bool = False) -> str:
    """The URL of the instance's only endpoint (its proxied URL when ``proxied``)."""
    found = endpoint(instance)["proxyfied_url" if proxied else "url"]
    assert found, instance
    return found


def process_pid(instance: ServiceInstance) -> int:
    """The pid of the service of a process-engine instance (its process group's leader)."""
    state = Path(instance["deployments"][0]["ref"]) / "state.json"
    return int(json.loads(state.read_text())["pid"])


def finish(client: Client, instance: ServiceInstance, action: str) -> ServiceInstance:
    """Run the finishing ``action``; once every job of the instance has ended, its ports and node tokens
    must be given back and its token forgotten."""
    done = act(client, instance, action, "FINISHED")
    for submission in done["job_submissions"]:
        try:
            client.wait_for_job(submission["job_id"], timeout=TIMEOUT)
        except WaitTimeout:
            job = client.get_job(submission["job_id"])
            tasks = [(t["name"], t["status"]) for t in job["tasks"]]
            raise AssertionError(
                f"job {job['id']} of a FINISHED instance still {job['status']}: {tasks}"
            ) from None
    deadline = time.monotonic() + 10
    while done["node_tokens"] or done["ports"]:
        assert time.monotonic() < deadline, done
        time.sleep(0.2)
        done = client.get_service_instance(instance["id"])
    assert done["variables"]["SERVICE_TOKEN"] == ""
    return done


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` (as servers do, despite connections in TIME_WAIT)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
