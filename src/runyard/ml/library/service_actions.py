"""The actions tasks of the ``data-visualization`` and ``model_as_a_service`` buckets
(``Visdom_Service_Actions``, ``MaaS_ML_Actions``…): run a pause, resume or finish on a service instance
and wait for its end.

A job's token runs actions only on the instances that job (or a job it submitted) started
(:mod:`runyard.api.task_scope`): a start task and an actions task of one workflow, as the guide's
examples pair them. An instance started elsewhere is acted on by its owner (CLI, portal, SDK).
"""

from __future__ import annotations

from typing import Any

from runyard.client import ApiError
from runyard.ml import artifacts, services
from runyard.ml.task import Task, library_task
from runyard.services import psa


@library_task
def service_actions(task: Task) -> dict[str, Any]:
    """``ACTION`` on the instance ``INSTANCE_ID`` (else ``MODEL_SERVICE_INSTANCE_ID``), else on the newest
    active ``SERVICE_ID`` instance named ``INSTANCE_NAME``; waits for its end."""
    action = task.required("ACTION")
    with psa.client() as api:
        known = task.text("INSTANCE_ID") or task.text("MODEL_SERVICE_INSTANCE_ID")
        if known:
            if not known.isdigit():
                raise task.fail(f"INSTANCE_ID {known!r} is not a service instance id")
            identifier = int(known)
        else:
            service, name = task.required("SERVICE_ID"), task.required("INSTANCE_NAME")
            named = [
                i["id"]
                for i in api.list_service_instances("active")
                if i["service_id"] == service and i["label"] == name
            ]
            if not named:
                raise task.fail(f"no active {service} service instance is named {name!r}")
            identifier = max(named)
        try:
            api.run_service_action(identifier, action, parent_job_id=task.job_id)
        except ApiError as error:
            raise task.fail(f"{action} on service instance {identifier}: {error.message}") from None
        instance = api.wait_for_service_instance(identifier, services.START_TIMEOUT)
    if instance["status"] == "ERROR":
        raise task.fail(f"{action}: service instance {identifier} is in ERROR: {instance['error']}")
    print(f"{task.name}: {action} done, service instance {identifier} is {instance['status']}")
    # Nothing passed on: a finish runs after its parents failed too, and must not fail on their results.
    return {"kind": artifacts.INPUTS, "items": []}
