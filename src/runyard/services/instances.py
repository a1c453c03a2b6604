"""Service instances as stored: status, transition, variables, deployments, endpoints, job submissions.

Reading and writing rows only; what may change when is decided in :mod:`runyard.services.automation`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from runyard.errors import NotFoundError
from runyard.model import TaskStatus
from runyard.services.states import ENDED
from runyard.store.schema import service_instances, service_job_submissions, submission_keys, tasks


@dataclass(frozen=True)
class JobSubmission:
    job_id: int
    action: str  # bucket/name of the action's workflow
    transition: str  # "VOID -> RUNNING"
    parent_job_id: int | None
    submitted_at: float


@dataclass(frozen=True)
class PendingAction:
    """An action recorded before its job is submitted: once the job is stored under ``key`` (its
    submission key), it is recorded as a job submission and this is cleared. Found set after a crash,
    the job is looked up by ``key``. A kill is recorded too (``action`` ``kill``, no key) until what it
    stops and releases is done."""

    key: str
    action: str  # bucket/name of the action's workflow
    transition: str
    parent_job_id: int | None
    asked_at: float


@dataclass(frozen=True)
class NodeToken:
    node: str
    token: str


@dataclass(frozen=True)
class ServiceInstance:
    id: int
    service_id: str
    bucket: str
    owner: str
    label: str | None
    status: str
    transition: str | None
    transition_job_id: int | None
    icon: str | None
    variables: dict[str, str]
    deployments: list[dict[str, Any]]
    channel: dict[str, str]
    node_tokens: tuple[NodeToken, ...]
    ports: tuple[int, ...]
    groups: tuple[str, ...]
    error: str | None
    created_at: float
    finished_at: float | None
    job_submissions: tuple[JobSubmission, ...] = field(default=())
    pending_action: PendingAction | None = None

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def endpoints(self) -> dict[str, dict[str, Any]]:
        """Endpoint id → ``{"url", "proxyfied", "proxyfied_url"}``, from the deployments (last one wins)."""
        found: dict[str, dict[str, Any]] = {}
        for deployment in self.deployments:
            endpoint = deployment.get("endpoint") or {}
            if endpoint.get("id"):
                found[str(endpoint["id"])] = {
                    "url": endpoint.get("url"),
                    "proxyfied": bool(endpoint.get("proxyfied")),
                    "proxyfied_url": endpoint.get("proxyfiedUrl"),
                }
        return found

    def main_job_id(self) -> int | None:
        """The activation's job: the first submission (ProActive's ``getJobSubmissions().get(0)``)."""
        return self.job_submissions[0].job_id if self.job_submissions else None


def insert_instance(
    connection: sa.Connection,
    *,
    service_id: str,
    bucket: str,
    owner: str,
    status: str,
    icon: str | None,
    variables: Mapping[str, str],
) -> int:
    row = connection.execute(
        service_instances.insert()
        .values(
            service_id=service_id,
            bucket_name=bucket,
            owner=owner,
            status=status,
            icon=icon,
            variables=dict(variables),
            deployments=[],
            channel={},
            node_tokens=[],
            ports=[],
            groups=[],
            created_at=time.time(),
        )
        .returning(service_instances.c.id)
    ).scalar_one()
    return int(row)


def load_instance(connection: sa.Connection, instance_id: int) -> ServiceInstance:
    row = connection.execute(
        sa.select(service_instances).where(service_instances.c.id == instance_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no service instance {instance_id}")
    return _instances(connection, [row])[0]


def find_instances(
    connection: sa.Connection, *, owner: str | None = None, ended: bool | None = None
) -> list[ServiceInstance]:
    """Instances by id; ``ended``: only FINISHED/KILLED ones (True) or only the others (False)."""
    c = service_instances.c
    query = sa.select(service_instances).order_by(c.id)
    if owner is not None:
        query = query.where(c.owner == owner)
    if ended is not None:
        query = query.where(c.status.in_(ENDED) if ended else c.status.not_in(ENDED))
    return _instances(connection, connection.execute(query).all())


def instance_of_job(connection: sa.Connection, job_id: int) -> int | None:
    """The instance ``job_id`` serves: the job of its pending action (stored under the action's key, not
    recorded yet: its tasks may already call the helpers), or recorded as one of its job submissions.

    In that order: each statement reads what is committed when it runs, and the recording clears the
    pending action and adds the submission in one transaction. Read the other way round, a recording
    committed between the two statements hid the job from both (a task calling at once got 403)."""
    key = sa.select(submission_keys.c.key).where(submission_keys.c.job_id == job_id).scalar_subquery()
    pending = service_instances.c.pending_action["key"].as_string()
    found = connection.execute(sa.select(service_instances.c.id).where(pending == key)).scalar()
    if found is None:
        found = connection.execute(
            sa.select(service_job_submissions.c.instance_id).where(service_job_submissions.c.job_id == job_id)
        ).scalar()
    return None if found is None else int(found)


def running_nodes(connection: sa.Connection, job_ids: Sequence[int]) -> set[str]:
    """Nodes running a task of one of ``job_ids`` now."""
    if not job_ids:
        return set()
    c = tasks.c
    query = sa.select(c.node).where(
        c.job_id.in_(job_ids), c.status == TaskStatus.RUNNING, c.node.is_not(None)
    )
    return {str(node) for node in connection.execute(query).scalars()}


def update_instance(connection: sa.Connection, instance_id: int, **values: Any) -> None:
    """Store new values of the instance's columns (``node_tokens`` as ``NodeToken``s, tuples as lists,
    ``pending_action`` as a ``PendingAction`` or ``None``)."""
    stored = {key: _column_value(value) for key, value in values.items()}
    connection.execute(service_instances.update().where(service_instances.c.id == instance_id).values(stored))


def add_job_submission(connection: sa.Connection, instance_id: int, submission: JobSubmission) -> None:
    c = service_job_submissions.c
    number = connection.execute(
        sa.select(sa.func.coalesce(sa.func.max(c.number), 0)).where(c.instance_id == instance_id)
    ).scalar_one()
    connection.execute(
        service_job_submissions.insert().values(
            instance_id=instance_id,
            number=int(number) + 1,
            job_id=submission.job_id,
            action=submission.action,
            transition=submission.transition,
            parent_job_id=submission.parent_job_id,
            submitted_at=submission.submitted_at,
        )
    )


def delete_instance(connection: sa.Connection, instance_id: int) -> None:
    connection.execute(
        service_job_submissions.delete().where(service_job_submissions.c.instance_id == instance_id)
    )
    connection.execute(service_instances.delete().where(service_instances.c.id == instance_id))


def reserved_ports(connection: sa.Connection) -> set[int]:
    """Ports held by instances that are not FINISHED or KILLED."""
    rows = connection.execute(
        sa.select(service_instances.c.ports).where(service_instances.c.status.not_in(ENDED))
    ).scalars()
    return {int(port) for ports in rows for port in ports}


def _column_value(value: Any) -> Any:
    if isinstance(value, PendingAction):
        return dataclasses.asdict(value)
    if isinstance(value, tuple) and value and isinstance(value[0], NodeToken):
        return [[t.node, t.token] for t in value]
    if isinstance(value, tuple):
        return list(value)
    return value


def _instances(connection: sa.Connection, rows: Sequence[sa.Row[Any]]) -> list[ServiceInstance]:
    ids = [row.id for row in rows]
    submissions: dict[int, list[JobSubmission]] = {i: [] for i in ids}
    if ids:
        c = service_job_submissions.c
        query = (
            sa.select(service_job_submissions).where(c.instance_id.in_(ids)).order_by(c.instance_id, c.number)
        )
        for s in connection.execute(query):
            submissions[s.instance_id].append(
                JobSubmission(s.job_id, s.action, s.transition, s.parent_job_id, s.submitted_at)
            )
    return [
        ServiceInstance(
            id=row.id,
            service_id=row.service_id,
            bucket=row.bucket_name,
            owner=row.owner,
            label=row.label,
            status=row.status,
            transition=row.transition,
            transition_job_id=row.transition_job_id,
            icon=row.icon,
            variables=dict(row.variables),
            deployments=list(row.deployments),
            channel=dict(row.channel),
            node_tokens=tuple(NodeToken(node, token) for node, token in row.node_tokens),
            ports=tuple(row.ports),
            groups=tuple(row.groups),
            error=row.error,
            created_at=row.created_at,
            finished_at=row.finished_at,
            job_submissions=tuple(submissions[row.id]),
            pending_action=None if row.pending_action is None else PendingAction(**row.pending_action),
        )
        for row in rows
    ]
