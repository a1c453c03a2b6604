"""Service Automation's JSON as ProActive writes it: ``ServiceInstanceData`` and ``CloudAutomationWorkflow``.

Times are epoch milliseconds. An endpoint's ``proxyfiedUrl`` is always the platform's proxy URL, never
the one the service recorded (user code wrote it).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from runyard.services.definitions import DOCUMENTATION, ICON, SERVICE_ID, STATES, Action
from runyard.services.instances import ServiceInstance
from runyard.services.proxy import platform_endpoints


def service_instance_data(instance: ServiceInstance, proxy_base_url: str) -> dict[str, Any]:
    endpoints = platform_endpoints(instance, proxy_base_url)
    return {
        "instance_id": instance.id,
        "service_id": instance.service_id,
        "bucket_name": instance.bucket,
        "user_name": instance.owner,
        "label": instance.label,
        "instance_status": instance.status,
        "creation_time": _millis(instance.created_at),
        "finish_time": None if instance.finished_at is None else _millis(instance.finished_at),
        "service_icon": instance.icon,
        "variables": instance.variables,
        "groups": list(instance.groups),
        "deployments": [
            _deployment(number, deployment, endpoints)
            for number, deployment in enumerate(instance.deployments, start=1)
        ],
        "instance_endpoints": {
            name: endpoint["proxyfied_url"] or endpoint["url"] for name, endpoint in endpoints.items()
        },
        "job_submissions": [
            {
                "transition_state": s.transition,
                "parent_job_id": s.parent_job_id,
                "job_id": s.job_id,
                "submission_time": _millis(s.submitted_at),
            }
            for s in instance.job_submissions
        ],
    }


def cloud_automation_workflow(action: Action) -> dict[str, Any]:
    """An action as PSA lists it: its catalog object, variables and the generic information it was read
    from."""
    information = {
        SERVICE_ID: action.service_id,
        STATES: "".join(f"({t.source},{t.target})" for t in action.transitions),
    }
    if action.icon:
        information[ICON] = action.icon
    if action.documentation:
        information[DOCUMENTATION] = action.documentation
    return {
        "bucket": action.bucket,
        "name": action.name,
        "description": action.description,
        "variables": [asdict(v) for v in action.variables],
        "generic_information": information,
        "transitions": [{"from": t.source, "to": t.target} for t in action.transitions],
    }


def _deployment(
    number: int, deployment: dict[str, Any], endpoints: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    endpoint = deployment.get("endpoint")
    if endpoint and str(endpoint.get("id")) in endpoints:
        platform = endpoints[str(endpoint["id"])]
        endpoint = {
            "id": endpoint["id"],
            "url": platform["url"],
            "proxyfied": platform["proxyfied"],
            "proxyfiedUrl": platform["proxyfied_url"],
        }
    return {
        "id": number,
        "node": deployment.get("node"),
        "container": deployment.get("container"),
        "endpoint": endpoint,
    }


def _millis(seconds: float) -> int:
    return int(seconds * 1000)
