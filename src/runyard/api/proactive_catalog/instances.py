"""``/cloud-automation-service/serviceInstances``: list, read, start (a service's activation workflow named
by bucket and name), update (what a service workflow reports), the actions an instance allows now, and run
one.

The job rules apply, as in runyard's own API: a user sees and acts on their own instances, an admin on
all; another user's instance answers 403. A job token reaches what it reaches on the native routes
(:mod:`runyard.api.task_scope`); a start or an action it asks for is recorded under its job, or under
``jobId`` when that is a job its job submitted.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from pydantic import BaseModel, Field

from runyard.api.proactive.common import ProActiveError, ProActiveUser, proactive_router
from runyard.api.proactive_catalog.service_shapes import cloud_automation_workflow, service_instance_data
from runyard.api.routers.jobs import MAX_ID
from runyard.api.routers.service_instances import parent_job
from runyard.api.routers.services import automation_of
from runyard.auth import User
from runyard.services.automation import ServiceAutomation
from runyard.services.instances import ServiceInstance

router = proactive_router(prefix="/serviceInstances", include_in_schema=False)

InstanceId = Annotated[int, Path(ge=1, le=MAX_ID)]
ParentJob = Annotated[int | None, Query(alias="jobId", ge=1, le=MAX_ID, description="The job asking")]
Scalar = str | int | float | bool


class ServiceInstanceData(BaseModel):
    """What an update sends back (the PSA client's ``ServiceInstanceData``): the fields a workflow may
    change. ``deployments`` holds the instance's recorded ones first, as read, then those to add."""

    instance_status: str | None = Field(default=None, min_length=1, max_length=64)
    variables: dict[str, Scalar | None] = Field(default_factory=dict, max_length=1000)
    groups: list[str] = Field(default_factory=list, max_length=100)
    deployments: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)


class ServiceDescription(BaseModel):
    """What PSA's clients post: a catalog workflow and the variables to submit it with."""

    bucket_name: str = Field(min_length=1, max_length=128)
    workflow_name: str = Field(min_length=1, max_length=255)
    variables: dict[str, Scalar] = Field(default_factory=dict, max_length=1000)

    def variable_strings(self) -> dict[str, str]:
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.variables.items()}


@router.get("")
def list_instances(request: Request, user: ProActiveUser) -> list[dict[str, Any]]:
    return _data(request, automation_of(request).instances(user))


@router.get("/active")
def list_active_instances(request: Request, user: ProActiveUser) -> list[dict[str, Any]]:
    """Those neither FINISHED nor KILLED."""
    return _data(request, automation_of(request).instances(user, ended=False))


@router.post("")
def start_service(
    body: ServiceDescription, request: Request, user: ProActiveUser, job_id: ParentJob = None
) -> dict[str, Any]:
    """Create an instance and submit the activation workflow ``bucket_name/workflow_name`` (400 before
    anything is stored when a variable is unknown or does not fit its model)."""
    automation = automation_of(request)
    service_id = _service_of_activation(automation, user, body.bucket_name, body.workflow_name)
    instance = automation.start(
        user,
        service_id,
        body.variable_strings(),
        workflow=body.workflow_name,
        bucket=body.bucket_name,
        parent_job_id=parent_job(request, user, job_id),
    )
    return _one(request, instance)


@router.get("/{instance_id}")
def get_instance(instance_id: InstanceId, request: Request, user: ProActiveUser) -> dict[str, Any]:
    return _one(request, automation_of(request).instance(user, instance_id))


@router.put("/{instance_id}")
def update_instance(
    instance_id: InstanceId, body: ServiceInstanceData, request: Request, user: ProActiveUser
) -> dict[str, Any]:
    """Record the status (``VOID`` given back by a start that read it changes nothing), variables
    (merged), groups (added) and the deployments past the recorded ones (checked as the native route
    checks them: 400 with the reason)."""
    automation = automation_of(request)
    recorded = len(automation.instance(user, instance_id).deployments)
    variables = {
        k: str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in body.variables.items()
        if v is not None
    }
    updated = automation.update(
        user,
        instance_id,
        status=body.instance_status,
        variables=variables,
        deployments=[_claim(d) for d in body.deployments[recorded:]],
        groups=body.groups,
    )
    return _one(request, updated)


@router.get("/{instance_id}/actions")
def list_actions(instance_id: InstanceId, request: Request, user: ProActiveUser) -> list[dict[str, Any]]:
    """The actions the instance allows now (none while an action runs or once it has ended)."""
    automation = automation_of(request)
    allowed = automation.allowed_actions(user, automation.instance(user, instance_id))
    return [cloud_automation_workflow(a) for a in allowed]


@router.put("/{instance_id}/action")
def run_action(
    instance_id: InstanceId,
    body: ServiceDescription,
    request: Request,
    user: ProActiveUser,
    job_id: ParentJob = None,
) -> dict[str, Any]:
    """Run the action ``workflow_name``, which must come from the bucket the instance was activated from,
    with the instance's variables and ``variables`` on top (409 when its state does not allow it)."""
    automation = automation_of(request)
    instance = automation.instance(user, instance_id)
    if body.bucket_name != instance.bucket:
        message = (
            f"service instance {instance_id} was activated from bucket {instance.bucket!r}: its actions "
            f"come from there, not from {body.bucket_name!r}"
        )
        raise ProActiveError(400, message)
    parent = parent_job(request, user, job_id)
    done = automation.run_action(
        user, instance_id, body.workflow_name, body.variable_strings(), parent_job_id=parent
    )
    return _one(request, done)


def _service_of_activation(automation: ServiceAutomation, user: User, bucket: str, workflow: str) -> str:
    """The id of the service whose activation workflow is ``bucket/workflow``."""
    for service in automation.services(user):
        if service.bucket == bucket and any(a.name == workflow for a in service.activations):
            return service.id
    raise ProActiveError(
        404, f"no service activation workflow {workflow!r} in bucket {bucket!r} readable by you"
    )


def _claim(deployment: dict[str, Any]) -> dict[str, Any]:
    """A deployment as the PSA client sends it, without the empty parts it always writes."""
    return {key: value for key, value in deployment.items() if value is not None}


def _one(request: Request, instance: ServiceInstance) -> dict[str, Any]:
    return service_instance_data(instance, request.app.state.config.proxy_base_url)


def _data(request: Request, found: list[ServiceInstance]) -> list[dict[str, Any]]:
    return [_one(request, i) for i in found]
