"""Containers of service instances, started and controlled by the platform (never by user code).

The instance's owner (or a job token of theirs, as the instance's workflows hold) may call these; another
user gets 403. A start passes the policy of :mod:`runyard.services.containers` (400 with the reason
otherwise); the other routes act only on containers recorded for the instance (404 otherwise).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from runyard.api.routers.jobs import MAX_ID
from runyard.api.routers.services import automation_of
from runyard.api.security import CurrentUser
from runyard.services.containers import ContainerRequest, Containers
from runyard.services.engines import RunState
from runyard.services.engines.docker import Limits

router = APIRouter(prefix="/service-instances", tags=["service instances"])

InstanceId = Annotated[int, Path(ge=1, le=MAX_ID)]
Ref = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")]
Port = Annotated[int, Field(ge=1, le=65535)]


class ContainerStart(BaseModel):
    """A ``docker run`` of a local image, as a service workflow would type it."""

    model_config = ConfigDict(extra="forbid")  # no way to ask for what the policy does not list

    name: str = Field(min_length=1, max_length=128)
    image: str = Field(min_length=1, max_length=255)
    ports: dict[int, Port] = Field(default_factory=dict, max_length=64)
    """Container (TCP) port → host port: one reserved for the instance (``POST .../ports``)."""
    environment: dict[str, str] = Field(default_factory=dict, max_length=1000)
    volumes: dict[str, str] = Field(default_factory=dict, max_length=64)
    """Host folder → container path (``/data`` or ``/data:ro``): the instance's own folders or its
    owner's userspace."""
    command: str | list[str] | None = None
    options: str = Field(default="", max_length=10_000)
    """ProActive's ``DOCKER_OPTIONS`` (``-e``, ``-v``, ``-m``, ``-u``, ``-w``, ``--entrypoint``,
    ``--network bridge|none``)."""


class ContainerOut(BaseModel):
    ref: str
    """The container's id: the deployment's ``ref``."""
    state: RunState


def containers_of(request: Request) -> Containers:
    config = request.app.state.config
    limits = Limits(config.container_memory, config.container_pids, config.container_cpus)
    return Containers(automation_of(request), config.data_dir.absolute(), limits)


@router.post("/{instance_id}/containers", response_model=ContainerOut, status_code=201)
def start_container(
    instance_id: InstanceId, body: ContainerStart, request: Request, user: CurrentUser
) -> ContainerOut:
    """Start a container for the instance on the platform's Docker daemon and record it as a deployment
    (400 with the reason when the policy refuses it; 409 once the instance has ended)."""
    containers = containers_of(request)
    wanted = ContainerRequest(
        name=body.name,
        image=body.image,
        ports={int(k): v for k, v in body.ports.items()},
        environment=body.environment,
        volumes=body.volumes,
        command=body.command,
        options=body.options,
    )
    ref = str(containers.start(user, instance_id, wanted)["ref"])
    return ContainerOut(ref=ref, state=containers.state(user, instance_id, ref))


@router.get("/{instance_id}/containers/{ref}", response_model=ContainerOut)
def get_container(instance_id: InstanceId, ref: Ref, request: Request, user: CurrentUser) -> ContainerOut:
    return ContainerOut(ref=ref, state=containers_of(request).state(user, instance_id, ref))


@router.get("/{instance_id}/containers/{ref}/logs", response_class=PlainTextResponse)
def container_logs(
    instance_id: InstanceId,
    ref: Ref,
    request: Request,
    user: CurrentUser,
    since: Annotated[float | None, Query(ge=0, le=1e11, description="Epoch seconds")] = None,
) -> str:
    """Its stdout and stderr, from ``since`` when given."""
    return containers_of(request).logs(user, instance_id, ref, since)


@router.post("/{instance_id}/containers/{ref}/{change}", response_model=ContainerOut)
def change_container(
    instance_id: InstanceId,
    ref: Ref,
    change: Literal["pause", "resume", "stop"],
    request: Request,
    user: CurrentUser,
) -> ContainerOut:
    """Pause (freeze), resume (unpause, or start again once exited) or stop (remove) the container."""
    containers = containers_of(request)
    state = {"pause": containers.pause, "resume": containers.resume, "stop": containers.stop}[change]
    return ContainerOut(ref=ref, state=state(user, instance_id, ref))
