"""Service instances: start, list, read, run an action, kill, clean; the helper API's updates.

The job rules apply: a user sees and acts on their own instances, an admin on all; another user's
instance answers 403. Actions a state does not allow answer 409 with ``details.allowed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from runyard.api.deps import EventsDep, LastEventIdDep, platform_of
from runyard.api.errors import ApiError
from runyard.api.events import sse
from runyard.api.routers.jobs import MAX_ID
from runyard.api.routers.services import automation_of
from runyard.api.security import CurrentUser
from runyard.auth import User
from runyard.auth.notification_tokens import NotificationTokens
from runyard.errors import ConflictError
from runyard.services.definitions import Service
from runyard.services.instances import NodeToken, ServiceInstance
from runyard.services.proxy import platform_endpoints
from runyard.store.jobs import descends_from

router = APIRouter(prefix="/service-instances", tags=["service instances"])

InstanceId = Annotated[int, Path(ge=1, le=MAX_ID)]
Scalar = str | int | float | bool


class JobSubmissionOut(BaseModel):
    job_id: int
    action: str
    transition_state: str
    parent_job_id: int | None
    submission_time: float


class EndpointOut(BaseModel):
    url: str | None
    """Where the service said it listens (user code wrote it)."""
    proxyfied: bool
    proxyfied_url: str | None
    """Where the platform's proxy serves it (on the services' origin when the portal is served), never
    a URL the service recorded."""


def endpoints_out(request: Request, instance: ServiceInstance) -> dict[str, EndpointOut]:
    return {
        name: EndpointOut(**endpoint)
        for name, endpoint in platform_endpoints(instance, request.app.state.config.proxy_base_url).items()
    }


class InstanceOut(BaseModel):
    id: int
    service_id: str
    bucket: str
    owner: str
    label: str | None
    status: str
    transition: str | None
    """``"RUNNING -> FINISHED"`` while an action runs (then only kill is allowed)."""
    icon: str | None
    variables: dict[str, str]
    endpoints: dict[str, EndpointOut]
    deployments: list[dict[str, Any]]
    job_submissions: list[JobSubmissionOut]
    actions: list[str]
    """Actions allowed now."""
    node_tokens: list[NodeToken]
    ports: list[int]
    groups: list[str]
    channel: dict[str, str]
    error: str | None
    created_at: float
    finished_at: float | None


class StartRequest(BaseModel):
    service_id: str = Field(min_length=1, max_length=255)
    workflow: str | None = Field(default=None, min_length=1, max_length=255)
    """The activation workflow's name, when the service has several."""
    bucket: str | None = Field(default=None, min_length=1, max_length=128)
    variables: dict[str, Scalar] = Field(default_factory=dict)
    parent_job_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class ActionRequest(BaseModel):
    variables: dict[str, Scalar] = Field(default_factory=dict)
    parent_job_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class InstanceUpdate(BaseModel):
    """What a service workflow reports (see the helper API, ``runyard.services.psa``)."""

    status: str | None = Field(default=None, min_length=1, max_length=64)
    variables: dict[str, Scalar] = Field(default_factory=dict)
    deployments: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)
    channel: dict[str, Scalar] = Field(default_factory=dict)
    groups: list[str] = Field(default_factory=list, max_length=100)
    error: str | None = Field(default=None, max_length=4000)
    """Why the status is ERROR (shown with the instance)."""


class PortRequest(BaseModel):
    port: int = Field(default=-1, ge=-1, le=65535)
    """-1: any free port of the configured range."""


class PortOut(BaseModel):
    port: int


class TokenRequest(BaseModel):
    node: str = Field(min_length=1, max_length=255)
    token: str = Field(min_length=1, max_length=255)


class NotificationTokenOut(BaseModel):
    token: str
    """For ``POST /api/v1/notifications`` only, while the instance is neither FINISHED nor KILLED."""


def instance_out(
    request: Request,
    user: User,
    instance: ServiceInstance,
    services: Mapping[tuple[str, str], Service] | None = None,
) -> InstanceOut:
    allowed = automation_of(request).allowed_actions(user, instance, services)
    return InstanceOut(
        id=instance.id,
        service_id=instance.service_id,
        bucket=instance.bucket,
        owner=instance.owner,
        label=instance.label,
        status=instance.status,
        transition=instance.transition,
        icon=instance.icon,
        variables=instance.variables,
        endpoints=endpoints_out(request, instance),
        deployments=instance.deployments,
        job_submissions=[
            JobSubmissionOut(
                job_id=s.job_id,
                action=s.action,
                transition_state=s.transition,
                parent_job_id=s.parent_job_id,
                submission_time=s.submitted_at,
            )
            for s in instance.job_submissions
        ],
        actions=[a.name for a in allowed],
        node_tokens=list(instance.node_tokens),
        ports=list(instance.ports),
        groups=list(instance.groups),
        channel=instance.channel,
        error=instance.error,
        created_at=instance.created_at,
        finished_at=instance.finished_at,
    )


def _strings(values: dict[str, Scalar]) -> dict[str, str]:
    return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in values.items()}


@router.get("", response_model=list[InstanceOut])
def list_instances(
    request: Request,
    user: CurrentUser,
    status: Annotated[
        Literal["active", "finished", "all"], Query(description="active: not FINISHED or KILLED")
    ] = "all",
) -> list[InstanceOut]:
    ended = {"active": False, "finished": True, "all": None}[status]
    automation = automation_of(request)
    found = automation.instances(user, ended)
    services = {(s.id, s.bucket): s for s in automation.services(user)} if found else {}  # one catalog read
    return [instance_out(request, user, i, services) for i in found]


@router.post("", response_model=InstanceOut, status_code=201)
def start_service(body: StartRequest, request: Request, user: CurrentUser) -> InstanceOut:
    """Create an instance and submit the service's activation workflow (400 before anything is stored
    when a variable is unknown or does not fit its model)."""
    instance = automation_of(request).start(
        user,
        body.service_id,
        _strings(body.variables),
        workflow=body.workflow,
        bucket=body.bucket,
        parent_job_id=parent_job(request, user, body.parent_job_id),
    )
    return instance_out(request, user, instance)


@router.get("/{instance_id}", response_model=InstanceOut)
def get_instance(instance_id: InstanceId, request: Request, user: CurrentUser) -> InstanceOut:
    return instance_out(request, user, automation_of(request).instance(user, instance_id))


@router.get("/{instance_id}/events", responses={200: {"content": {"text/event-stream": {}}}})
async def instance_events(
    instance_id: InstanceId,
    request: Request,
    user: CurrentUser,
    hub: EventsDep,
    last_event_id: LastEventIdDep,
) -> StreamingResponse:
    """The instance's changes as server-sent events (``service_instance``, and ``reset`` when a resumed
    stream missed some), resumable with ``Last-Event-ID`` as ``/events``; another user's instance
    answers 403. Tasks, whose job token does not reach ``/events``, wait for their services with it."""
    await run_in_threadpool(automation_of(request).instance, user, instance_id)
    return StreamingResponse(
        sse(hub.subscribe(user, None, last_event_id, instance_id=instance_id)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )


@router.post("/{instance_id}/actions/{action}", response_model=InstanceOut)
def run_action(
    instance_id: InstanceId,
    action: Annotated[str, Path(min_length=1, max_length=255)],
    request: Request,
    user: CurrentUser,
    body: ActionRequest | None = None,
) -> InstanceOut:
    """Run an action (its workflow's catalog name) with the instance's variables and yours on top."""
    body = body or ActionRequest()
    parent = parent_job(request, user, body.parent_job_id)
    variables = _strings(body.variables)
    instance = automation_of(request).run_action(user, instance_id, action, variables, parent_job_id=parent)
    return instance_out(request, user, instance)


def parent_job(request: Request, user: User, asked: int | None) -> int | None:
    """The job a submission is recorded under: with a job token, its job (or one it submitted, when
    ``asked`` names one), never another, since it tells which instances the job may act on later."""
    if user.job is None:
        return asked
    if asked is None:
        return user.job
    with platform_of(request).engine.connect() as connection:
        if descends_from(connection, asked, user.job):
            return asked
    raise ApiError(403, "forbidden", f"parent_job_id {asked} is not job {user.job} nor a job it submitted")


@router.post("/{instance_id}/kill", response_model=InstanceOut)
def kill_instance(instance_id: InstanceId, request: Request, user: CurrentUser) -> InstanceOut:
    """Force KILLED: its jobs, processes and containers are stopped, its node tokens and ports released."""
    return instance_out(request, user, automation_of(request).kill(user, instance_id))


@router.delete("/{instance_id}", status_code=204)
def clean_instance(instance_id: InstanceId, request: Request, user: CurrentUser) -> Response:
    """Remove a FINISHED or KILLED instance's record (409 otherwise)."""
    automation_of(request).clean(user, instance_id)
    return Response(status_code=204)


@router.get("/{instance_id}/endpoints", response_model=dict[str, EndpointOut])
def get_endpoints(instance_id: InstanceId, request: Request, user: CurrentUser) -> dict[str, EndpointOut]:
    instance = automation_of(request).instance(user, instance_id)
    return endpoints_out(request, instance)


@router.patch("/{instance_id}", response_model=InstanceOut)
def update_instance(
    instance_id: InstanceId, body: InstanceUpdate, request: Request, user: CurrentUser
) -> InstanceOut:
    """Status (ends the transition), variables (merged), deployments (appended once the platform has
    checked they are the instance's: 400 with the reason otherwise), channel, groups, error."""
    instance = automation_of(request).update(
        user,
        instance_id,
        status=body.status,
        variables=_strings(body.variables),
        deployments=body.deployments,
        channel=_strings(body.channel),
        groups=body.groups,
        error=body.error,
    )
    return instance_out(request, user, instance)


@router.post("/{instance_id}/ports", response_model=PortOut)
def reserve_port(instance_id: InstanceId, body: PortRequest, request: Request, user: CurrentUser) -> PortOut:
    """Reserve a host port for the instance (``-1``: a free one); released when it ends."""
    port = automation_of(request).reserve_port(user, instance_id, body.port)
    return PortOut(port=port)


@router.post("/{instance_id}/node-tokens", response_model=InstanceOut)
def add_node_token(
    instance_id: InstanceId, body: TokenRequest, request: Request, user: CurrentUser
) -> InstanceOut:
    """Reserve a node running one of the instance's tasks with its own ``PSA_<INSTANCE_NAME>`` token
    (403 on another node, 400 for another token, 409 when another instance holds it there)."""
    instance = automation_of(request).add_node_token(user, instance_id, body.node, body.token)
    return instance_out(request, user, instance)


@router.delete("/{instance_id}/node-tokens/{token}", response_model=InstanceOut)
def remove_node_token(
    instance_id: InstanceId,
    token: Annotated[str, Path(min_length=1, max_length=255)],
    request: Request,
    user: CurrentUser,
    node: Annotated[str | None, Query(max_length=255, description="Only on this node")] = None,
) -> InstanceOut:
    instance = automation_of(request).remove_node_token(user, instance_id, node, token)
    return instance_out(request, user, instance)


@router.post("/{instance_id}/notification-token", response_model=NotificationTokenOut)
def create_notification_token(
    instance_id: InstanceId, request: Request, user: CurrentUser
) -> NotificationTokenOut:
    """A token for the service's own process to notify the instance's owner (a model server's drift):
    good for ``POST /notifications`` only, while the instance lives (409 once it is FINISHED or KILLED)."""
    instance = automation_of(request).instance(user, instance_id)
    if instance.ended:
        raise ConflictError(f"service instance {instance_id} is {instance.status}: it notifies no more")
    tokens: NotificationTokens = request.app.state.notification_tokens
    return NotificationTokenOut(token=tokens.issue(instance.id, instance.owner))
