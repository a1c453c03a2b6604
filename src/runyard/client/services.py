"""Service Automation: services (catalog workflows sharing ``pca.service.id``) and their instances."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from runyard.client.documents import Service, ServiceEndpoint, ServiceInstance, StreamEvent
from runyard.client.errors import WaitTimeout
from runyard.client.events import RESET, SUBSCRIBED, Cursor, event_stream
from runyard.client.transport import Call, Plan, json_body, no_body, operation, segment

Scalar = str | int | float | bool


class ServicesApi:
    @operation
    def list_services(self) -> Call[list[Service]]:
        """Every service (id and bucket) of the buckets you may read, with its actions and their variables."""
        return Call("GET", "/services", json_body)

    @operation
    def get_service(self, service_id: str, bucket: str | None = None) -> Call[Service]:
        """The service of ``bucket``; without one, of your buckets, else of the built-in or admins' ones."""
        params = {"bucket": bucket} if bucket else None
        return Call("GET", f"/services/{segment(service_id)}", json_body, params=params)

    @operation
    def start_service(
        self,
        service_id: str,
        variables: Mapping[str, Scalar] | None = None,
        *,
        workflow: str | None = None,
        bucket: str | None = None,
        parent_job_id: int | None = None,
    ) -> Call[ServiceInstance]:
        """Start an instance: its activation workflow (``workflow`` if the service has several) is submitted
        with ``variables``; an unknown or ill-typed variable raises ``ApiError`` (400) and starts nothing.
        Without ``bucket``, the service of your own buckets, else of the built-in or admins' ones."""
        body = {
            "service_id": service_id,
            "variables": dict(variables or {}),
            "workflow": workflow,
            "bucket": bucket,
            "parent_job_id": parent_job_id,
        }
        return Call("POST", "/service-instances", json_body, json=body)

    @operation
    def list_service_instances(
        self, status: Literal["active", "finished", "all"] = "all"
    ) -> Call[list[ServiceInstance]]:
        """``active``: not FINISHED or KILLED; ``finished``: FINISHED or KILLED."""
        return Call("GET", "/service-instances", json_body, params={"status": status})

    @operation
    def get_service_instance(self, instance_id: int) -> Call[ServiceInstance]:
        return Call("GET", _instance(instance_id), json_body)

    @operation
    def run_service_action(
        self,
        instance_id: int,
        action: str,
        variables: Mapping[str, Scalar] | None = None,
        *,
        parent_job_id: int | None = None,
    ) -> Call[ServiceInstance]:
        """Run ``action`` (its workflow's name); 409 ``ApiError`` lists the allowed ones otherwise."""
        body = {"variables": dict(variables or {}), "parent_job_id": parent_job_id}
        return Call("POST", f"{_instance(instance_id)}/actions/{segment(action)}", json_body, json=body)

    @operation
    def kill_service_instance(self, instance_id: int) -> Call[ServiceInstance]:
        """Force KILLED: stops its jobs, processes and containers; releases its node tokens and ports."""
        return Call("POST", f"{_instance(instance_id)}/kill", json_body)

    @operation
    def clean_service_instance(self, instance_id: int) -> Call[None]:
        """Remove a FINISHED or KILLED instance's record."""
        return Call("DELETE", _instance(instance_id), no_body)

    @operation
    def get_service_endpoints(self, instance_id: int) -> Call[dict[str, ServiceEndpoint]]:
        return Call("GET", f"{_instance(instance_id)}/endpoints", json_body)

    @operation
    def wait_for_service_instance(
        self, instance_id: int, timeout: float | None = None, *, until: Sequence[str] = ()
    ) -> Plan[ServiceInstance]:
        """Wait until the instance's transition is over (its workflow set a status), or until its status is
        one of ``until``; returns the instance. Raises ``WaitTimeout`` after ``timeout`` seconds.

        Follows the instance's events: the instance is read again after each of them (and after a
        ``reset``), the events being resumed from before the first read, so that none is missed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        cursor = Cursor()
        events = f"{_instance(instance_id)}/events"  # a task's job token reaches this stream, not /events
        yield event_stream(events, marked=True, cursor=cursor, stop=_is(SUBSCRIBED))
        while True:
            instance: ServiceInstance = yield Call("GET", _instance(instance_id), json_body)
            if (instance["status"] in until) if until else instance["transition"] is None:
                return instance
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                wanted = " or ".join(until) if until else "the end of its transition"
                raise WaitTimeout(
                    f"service instance {instance_id} did not reach {wanted} within {timeout} s "
                    f"(status {instance['status']}, transition {instance['transition']})"
                )
            yield event_stream(events, cursor=cursor, timeout=remaining, stop=_changes(instance_id))

    # -- what service workflows call (see runyard.services.psa) ----------------------------------

    @operation
    def update_service_instance(
        self,
        instance_id: int,
        *,
        status: str | None = None,
        variables: Mapping[str, Scalar] | None = None,
        deployments: Sequence[Mapping[str, Any]] = (),
        channel: Mapping[str, Scalar] | None = None,
        groups: Sequence[str] = (),
        error: str | None = None,
    ) -> Call[ServiceInstance]:
        """Set the status (ending the transition), merge variables and channel entries, add deployments;
        ``error``: why, with status ERROR."""
        body = {
            "status": status,
            "error": error,
            "variables": dict(variables or {}),
            "deployments": [dict(d) for d in deployments],
            "channel": dict(channel or {}),
            "groups": list(groups),
        }
        return Call("PATCH", _instance(instance_id), json_body, json=body)

    @operation
    def reserve_service_port(self, instance_id: int, port: int = -1) -> Call[int]:
        """Reserve ``port`` for the instance, or (``-1``) a free port of the server's range."""
        return Call("POST", f"{_instance(instance_id)}/ports", _port, json={"port": port})

    @operation
    def add_service_node_token(self, instance_id: int, node: str, token: str) -> Call[ServiceInstance]:
        body = {"node": node, "token": token}
        return Call("POST", f"{_instance(instance_id)}/node-tokens", json_body, json=body)

    @operation
    def remove_service_node_token(
        self, instance_id: int, token: str, node: str | None = None
    ) -> Call[ServiceInstance]:
        params = {"node": node} if node else None
        path = f"{_instance(instance_id)}/node-tokens/{segment(token)}"
        return Call("DELETE", path, json_body, params=params)


def _is(kind: str) -> Callable[[StreamEvent], bool]:
    return lambda event: event["kind"] == kind


def _changes(instance_id: int) -> Callable[[StreamEvent], bool]:
    """Whether an event may have changed the instance (a ``reset`` may have hidden it)."""
    return lambda event: (
        event["kind"] == RESET
        or (event["kind"] == "service_instance" and event["instance"]["id"] == instance_id)
    )


def _instance(instance_id: int) -> str:
    return f"/service-instances/{segment(instance_id)}"


def _port(response: Any) -> int:
    return int(response.json()["port"])
