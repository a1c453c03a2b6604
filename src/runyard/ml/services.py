"""The service instances ML tasks draw into (Visdom, Tensorboard), found by their name or started.

ProActive's tasks "bind or start" a visualization service by its instance name: two workflows naming the
same instance share it. Here an instance is bound when one of the job owner's active instances of that
service has the name and runs; else one is started with the given variables and waited for.
"""

from __future__ import annotations

from collections.abc import Mapping

from runyard.client import ApiError, Client
from runyard.client.documents import ServiceInstance
from runyard.scripts.engine import ScriptFailure

#: Seconds a task waits for a service instance to start.
START_TIMEOUT = 120.0


class ServiceUnavailable(ScriptFailure):
    """The service instance a task needs neither runs nor could be started: the task fails with this."""


def running_instance(client: Client, service_id: str, name: str) -> ServiceInstance | None:
    """The newest RUNNING instance of ``service_id`` named ``name``, if any."""
    running = [
        i
        for i in client.list_service_instances("active")
        if i["label"] == name and i["service_id"] == service_id and i["status"] == "RUNNING"
    ]
    return max(running, key=lambda i: i["id"]) if running else None


def bind_or_start(
    client: Client, service_id: str, variables: Mapping[str, str], *, parent_job_id: int | None = None
) -> ServiceInstance:
    """The running instance of ``service_id`` named ``variables["INSTANCE_NAME"]``, else a new one started
    with ``variables`` (its job a child of ``parent_job_id``), once RUNNING."""
    found = running_instance(client, service_id, variables["INSTANCE_NAME"])
    if found is not None:
        return found
    try:
        started = client.start_service(service_id, dict(variables), parent_job_id=parent_job_id)
    except ApiError as error:
        raise ServiceUnavailable(f"{service_id} not started: {error.message}") from None
    instance = client.wait_for_service_instance(started["id"], START_TIMEOUT)
    if instance["status"] != "RUNNING":
        raise ServiceUnavailable(
            f"{service_id} instance {instance['id']} is {instance['status']}: {instance['error']}"
        )
    return instance


def endpoint_url(instance: ServiceInstance) -> str:
    """The URL of the instance's endpoint on its node, without a trailing slash."""
    urls = [e["url"] for e in instance["endpoints"].values() if e["url"]]
    if not urls:
        raise ServiceUnavailable(f"{instance['service_id']} instance {instance['id']} has no endpoint")
    return urls[0].rstrip("/")
