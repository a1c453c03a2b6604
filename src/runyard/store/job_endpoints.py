"""A job's external endpoints and attached service instances, as ProActive's ``JobInfo`` holds them
(``externalEndpointUrls``, ``attachedServices``): tasks record them through ``schedulerapi`` and the job's
page shows them as links. Only http(s) URLs are kept, so a link never runs script or names a local file;
their count and length are bounded. The rows go with their job (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa

from runyard.errors import ForbiddenError, InvalidRequestError, NotFoundError
from runyard.store.schema import job_endpoints, job_services, jobs, service_instances

MAX_NAME = 255
"""Characters of an endpoint's name."""
MAX_URL = 2048
"""Characters of an endpoint's URL and of its icon's."""
MAX_ENDPOINTS = 100
"""Endpoints of one job."""
MAX_SERVICES = 100
"""Service instances attached to one job."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    icon: str | None


@dataclass(frozen=True)
class AttachedService:
    instance_id: int
    with_endpoints: bool


def endpoints(connection: sa.Connection, job_id: int) -> list[Endpoint]:
    c = job_endpoints.c
    rows = connection.execute(sa.select(c.name, c.url, c.icon).where(c.job_id == job_id).order_by(c.added_at))
    return [Endpoint(row.name, row.url, row.icon) for row in rows]


def put_endpoint(connection: sa.Connection, job_id: int, endpoint: Endpoint) -> None:
    """Add or replace the endpoint of that name (ProActive's ``addExternalEndpointUrl``)."""
    _check_name(endpoint.name)
    _check_url(endpoint.url, "url")
    if endpoint.icon is not None:
        _check_icon(endpoint.icon)
    c = job_endpoints.c
    known = {row.name for row in connection.execute(sa.select(c.name).where(c.job_id == job_id))}
    if endpoint.name in known:
        connection.execute(
            job_endpoints.update()
            .where(c.job_id == job_id, c.name == endpoint.name)
            .values(url=endpoint.url, icon=endpoint.icon)
        )
        return
    if len(known) >= MAX_ENDPOINTS:
        raise InvalidRequestError(f"job {job_id} has {MAX_ENDPOINTS} endpoints already: remove one first")
    connection.execute(
        job_endpoints.insert().values(
            job_id=job_id, name=endpoint.name, url=endpoint.url, icon=endpoint.icon, added_at=time.time()
        )
    )


def remove_endpoint(connection: sa.Connection, job_id: int, name: str) -> bool:
    """Whether there was one of that name."""
    c = job_endpoints.c
    return connection.execute(job_endpoints.delete().where(c.job_id == job_id, c.name == name)).rowcount > 0


def attached_services(connection: sa.Connection, job_id: int) -> list[AttachedService]:
    c = job_services.c
    rows = connection.execute(
        sa.select(c.instance_id, c.with_endpoints).where(c.job_id == job_id).order_by(c.instance_id)
    )
    return [AttachedService(row.instance_id, bool(row.with_endpoints)) for row in rows]


def attach_service(connection: sa.Connection, job_id: int, instance_id: int, with_endpoints: bool) -> None:
    """Attach a service instance of the job's owner to the job (ProActive's ``registerService``); another
    user's instance is refused."""
    _check_same_owner(connection, job_id, instance_id)
    c = job_services.c
    where = (c.job_id == job_id, c.instance_id == instance_id)
    if connection.execute(sa.select(c.job_id).where(*where)).first() is not None:
        connection.execute(job_services.update().where(*where).values(with_endpoints=with_endpoints))
        return
    count = connection.execute(sa.select(sa.func.count()).where(c.job_id == job_id)).scalar_one()
    if count >= MAX_SERVICES:
        raise InvalidRequestError(f"job {job_id} has {MAX_SERVICES} service instances attached already")
    connection.execute(
        job_services.insert().values(job_id=job_id, instance_id=instance_id, with_endpoints=with_endpoints)
    )


def detach_service(connection: sa.Connection, job_id: int, instance_id: int) -> bool:
    """Whether the instance was attached (ProActive's ``detachService`` answers so)."""
    c = job_services.c
    deleted = connection.execute(
        job_services.delete().where(c.job_id == job_id, c.instance_id == instance_id)
    )
    return deleted.rowcount > 0


def _check_same_owner(connection: sa.Connection, job_id: int, instance_id: int) -> None:
    owner = connection.execute(
        sa.select(service_instances.c.owner).where(service_instances.c.id == instance_id)
    )
    instance_owner = owner.scalar_one_or_none()
    if instance_owner is None:
        raise NotFoundError(f"no service instance {instance_id}")
    job_owner = connection.execute(sa.select(jobs.c.owner).where(jobs.c.id == job_id)).scalar_one_or_none()
    if instance_owner != job_owner:
        raise ForbiddenError(f"service instance {instance_id} belongs to another user")


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidRequestError(f"an endpoint's name is 1 to {MAX_NAME} printable characters")


def _check_url(url: str, what: str) -> None:
    if len(url) > MAX_URL or not url.isprintable() or " " in url:
        raise InvalidRequestError(
            f"the endpoint's {what} is at most {MAX_URL} printable characters, no space"
        )
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise InvalidRequestError(f"the endpoint's {what} is not a URL: {error}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        shown = url if len(url) <= 80 else url[:77] + "..."
        raise InvalidRequestError(f"the endpoint's {what} must be an http:// or https:// URL, not {shown!r}")


def _check_icon(icon: str) -> None:
    """An http(s) URL, or a path on the server (ProActive's examples name the dashboard's icons so)."""
    if icon.startswith("/") and not icon.startswith("//"):
        if len(icon) > MAX_URL or not icon.isprintable() or " " in icon or "\\" in icon:
            raise InvalidRequestError(f"the endpoint's icon is at most {MAX_URL} printable characters")
        return
    _check_url(icon, "icon")
