"""A job's external endpoints and attached service instances (``schedulerapi.addExternalEndpointUrl``,
``registerService``...): read by whoever sees the job, changed by its owner or its own tasks' job token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from runyard.api.deps import EngineDep
from runyard.api.routers.jobs import JobId, check_job_access
from runyard.api.security import CurrentUser
from runyard.store import job_endpoints as store
from runyard.store.job_endpoints import MAX_NAME, MAX_URL

router = APIRouter(prefix="/jobs", tags=["jobs"])

InstanceId = Annotated[int, Field(ge=1, le=2**53)]


class EndpointIn(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    url: str = Field(min_length=1, max_length=MAX_URL)
    icon: str | None = Field(default=None, max_length=MAX_URL)


class EndpointOut(BaseModel):
    name: str
    url: str
    icon: str | None


class ServiceIn(BaseModel):
    instance_id: InstanceId
    with_endpoints: bool = True


class ServiceOut(BaseModel):
    instance_id: int
    with_endpoints: bool


class JobEndpointsOut(BaseModel):
    endpoints: list[EndpointOut]
    services: list[ServiceOut]


class Removed(BaseModel):
    removed: bool


@router.get("/{job_id}/endpoints", response_model=JobEndpointsOut)
def get_endpoints(job_id: JobId, user: CurrentUser, engine: EngineDep) -> JobEndpointsOut:
    """The job's external endpoints (oldest first) and the service instances attached to it."""
    check_job_access(engine, user, job_id)
    with engine.connect() as connection:
        links = store.endpoints(connection, job_id)
        services = store.attached_services(connection, job_id)
    return JobEndpointsOut(
        endpoints=[EndpointOut(name=link.name, url=link.url, icon=link.icon) for link in links],
        services=[ServiceOut(instance_id=s.instance_id, with_endpoints=s.with_endpoints) for s in services],
    )


@router.post("/{job_id}/endpoints", response_model=EndpointOut)
def put_endpoint(job_id: JobId, endpoint: EndpointIn, user: CurrentUser, engine: EngineDep) -> EndpointOut:
    """Add the endpoint, or replace the one of that name: an http(s) URL, an icon (an http(s) URL or a
    path on this server)."""
    check_job_access(engine, user, job_id)
    with engine.begin() as connection:
        store.put_endpoint(connection, job_id, store.Endpoint(endpoint.name, endpoint.url, endpoint.icon))
    return EndpointOut(name=endpoint.name, url=endpoint.url, icon=endpoint.icon)


@router.delete("/{job_id}/endpoints", response_model=Removed)
def remove_endpoint(
    job_id: JobId,
    user: CurrentUser,
    engine: EngineDep,
    name: Annotated[str, Query(min_length=1, max_length=MAX_NAME)],
) -> Removed:
    check_job_access(engine, user, job_id)
    with engine.begin() as connection:
        return Removed(removed=store.remove_endpoint(connection, job_id, name))


@router.post("/{job_id}/services", response_model=ServiceOut)
def attach_service(job_id: JobId, service: ServiceIn, user: CurrentUser, engine: EngineDep) -> ServiceOut:
    """Attach a service instance of the job's owner to the job (with its endpoints, or not)."""
    check_job_access(engine, user, job_id)
    with engine.begin() as connection:
        store.attach_service(connection, job_id, service.instance_id, service.with_endpoints)
    return ServiceOut(instance_id=service.instance_id, with_endpoints=service.with_endpoints)


@router.delete("/{job_id}/services/{instance_id}", response_model=Removed)
def detach_service(
    job_id: JobId, instance_id: Annotated[int, Path(ge=1, le=2**53)], user: CurrentUser, engine: EngineDep
) -> Removed:
    check_job_access(engine, user, job_id)
    with engine.begin() as connection:
        return Removed(removed=store.detach_service(connection, job_id, instance_id))
