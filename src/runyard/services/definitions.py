"""Services as the catalog defines them: the workflows of one bucket sharing GI ``pca.service.id``, each
one an action.

Nothing is stored about services themselves: every call reads the latest revision of the catalog's
workflows the user may read, so pushing a workflow is all it takes to add or change an action. A service
is its id *and* its bucket: the actions of an instance come from the bucket it was activated from only,
so another user's bucket holding a workflow with the same ``pca.service.id`` can neither add an action
to it (and run its code as the instance's owner) nor make its start ambiguous.

A revision never changes once committed, so the action it is gets made once, from the metadata the
catalog extracted, and kept by bucket, name, number and commit time; every call still reads which
revisions are the latest of the readable buckets (every instance shown lists its allowed actions: this
was most of the cost of reading an instance).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.auth import User
from runyard.catalog import BUILTIN_OWNER, Bucket, VariableMetadata, WorkflowMetadata, list_buckets
from runyard.catalog._queries import LATEST_REVISION
from runyard.errors import ConflictError, InvalidRequestError, NotFoundError
from runyard.services.states import VOID, Transition, parse_states
from runyard.store.schema import catalog_objects, catalog_revisions, users

SERVICE_ID = "pca.service.id"
STATES = "pca.states"
ICON = "workflow.icon"
DOCUMENTATION = "Documentation"
#: Most actions kept (see the module's docstring); past it, those kept are dropped and made again as needed.
CACHED_ACTIONS = 4096

_RevisionKey = tuple[str, str, int, float]
"""Bucket, object name, revision number and commit time: a revision's identity (a bucket deleted and
made again numbers its revisions anew, at other times)."""
_actions: dict[_RevisionKey, Action | None] = {}
_actions_lock = threading.Lock()


@dataclass(frozen=True)
class Action:
    """One workflow of a service: what it is called and which states it moves an instance between."""

    service_id: str
    bucket: str
    name: str  # the catalog object's name, which is how users call the action
    revision: int
    transitions: tuple[Transition, ...]
    description: str | None
    icon: str | None
    documentation: str | None
    variables: tuple[VariableMetadata, ...]

    @property
    def is_activation(self) -> bool:
        return any(t.source == VOID for t in self.transitions)

    def target_from(self, state: str) -> str | None:
        """The state this action leads to from ``state``; ``None`` when it does not apply there."""
        exact = [t.target for t in self.transitions if t.source == state]
        if exact:
            return exact[0]
        if state == VOID:  # only activations start from VOID: ALL means every state of a live instance
            return None
        wildcard = [t.target for t in self.transitions if t.applies_to(state)]
        return wildcard[0] if wildcard else None


@dataclass(frozen=True)
class Service:
    id: str
    bucket: str
    actions: tuple[Action, ...]

    @property
    def activations(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.is_activation)

    def icon(self) -> str | None:
        return next((a.icon for a in self.actions if a.icon), None)

    def actions_from(self, state: str) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.target_from(state) is not None)

    def action(self, name: str) -> Action:
        for action in self.actions:
            if action.name == name:
                return action
        known = ", ".join(a.name for a in self.actions)
        raise NotFoundError(f"service {self.id!r} has no action {name!r} (actions: {known})")


def list_services(connection: sa.Connection, user: User) -> list[Service]:
    """Every service whose workflows ``user`` may read, by id and bucket; its actions by name."""
    return list_services_in(connection, list_buckets(connection, user))


def get_service(connection: sa.Connection, user: User, service_id: str, bucket: str | None = None) -> Service:
    """The service ``service_id`` of ``bucket``; without a bucket, the one of the user's own buckets, else
    of the built-in and admins' buckets. Other users' buckets are only used when named: their workflows
    would run as ``user``. Several buckets of one of those two tiers answer ``ConflictError``."""
    readable = list_buckets(connection, user)
    if bucket is not None:
        readable = [b for b in readable if b.name == bucket]
    found = [service for service in list_services_in(connection, readable) if service.id == service_id]
    if bucket is not None or not found:
        if not found:
            raise NotFoundError(f"no service {service_id!r}" + (f" in bucket {bucket!r}" if bucket else ""))
        return found[0]
    owners = {b.name: b.owner for b in readable}
    trusted = _trusted_owners(connection)
    for tier in ({user.name}, trusted):
        candidates = [s for s in found if owners[s.bucket] in tier]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            names = ", ".join(s.bucket for s in candidates)
            raise ConflictError(f"service {service_id!r} is in several buckets ({names}): name one")
    names = ", ".join(f"{s.bucket} (of {owners[s.bucket]})" for s in found)
    raise NotFoundError(
        f"service {service_id!r} is only in other users' buckets ({names}): name the bucket to run "
        "their workflows as you"
    )


def list_services_in(connection: sa.Connection, buckets: Iterable[Bucket]) -> list[Service]:
    """The services of ``buckets`` (already checked readable), by id and bucket."""
    actions: dict[tuple[str, str], list[Action]] = {}
    for action in _latest_actions(connection, [bucket.name for bucket in buckets]):
        actions.setdefault((action.service_id, action.bucket), []).append(action)
    return [Service(sid, bucket, tuple(found)) for (sid, bucket), found in sorted(actions.items())]


def find_activation(
    connection: sa.Connection, user: User, service_id: str, name: str | None = None, bucket: str | None = None
) -> Action:
    """The activation action to start ``service_id`` with (its bucket chosen by :func:`get_service`):
    the one called ``name``, or the only one there is."""
    service = get_service(connection, user, service_id, bucket)
    candidates = [a for a in service.activations if name is None or a.name == name]
    if len(candidates) == 1:
        return candidates[0]
    names = ", ".join(a.name for a in service.activations) or "none"
    where = f"service {service_id!r} of bucket {service.bucket!r}"
    if not candidates:
        wanted = f" called {name!r}" if name else ""
        raise NotFoundError(f"{where} has no activation workflow{wanted} (activations: {names})")
    raise ConflictError(f"{where} has several activation workflows ({names}): name one")


def _trusted_owners(connection: sa.Connection) -> set[str]:
    """Owners whose buckets every user may take services from implicitly: runyard and the admins."""
    admins = connection.execute(sa.select(users.c.name).where(users.c.role == "admin")).scalars()
    return {BUILTIN_OWNER, *admins}


def _latest_actions(connection: sa.Connection, readable: list[str]) -> list[Action]:
    """The actions of the latest workflow revisions of the ``readable`` buckets, by bucket and name."""
    if not readable:
        return []
    r = catalog_revisions.c
    keys = [r.bucket_name, r.object_name, r.revision, r.commit_time]
    query = (
        sa.select(*keys)
        .select_from(catalog_objects.join(catalog_revisions, LATEST_REVISION))
        .where(catalog_objects.c.bucket_name.in_(readable), r.workflow_metadata.is_not(None))
        .order_by(catalog_objects.c.bucket_name, catalog_objects.c.name)
    )
    latest: list[_RevisionKey] = [tuple(row) for row in connection.execute(query)]
    with _actions_lock:
        known = {key: _actions[key] for key in latest if key in _actions}
    if len(known) < len(latest):  # new revisions: read again with the metadata, which then decides
        rows = connection.execute(query.add_columns(r.workflow_metadata)).all()
        latest = [(row.bucket_name, row.object_name, row.revision, row.commit_time) for row in rows]
        known = {key: _action(*key[:3], row.workflow_metadata) for key, row in zip(latest, rows, strict=True)}
        with _actions_lock:
            if len(_actions) + len(known) > CACHED_ACTIONS:
                _actions.clear()
            _actions.update(known)
    return [action for key in latest if (action := known[key]) is not None]


def _action(bucket: str, name: str, revision: int, data: dict[str, Any] | None) -> Action | None:
    """The action a workflow revision is, from the metadata the catalog extracted (``None``: none)."""
    if data is None:
        return None
    metadata = WorkflowMetadata.from_json(data)
    gi = metadata.generic_information
    service_id = gi.get(SERVICE_ID, "").strip()
    if not service_id:
        return None
    try:
        transitions = parse_states(gi.get(STATES, ""))
    except InvalidRequestError:
        return None  # not an action: a workflow of the service that no state change starts
    return Action(
        service_id=service_id,
        bucket=bucket,
        name=name,
        revision=revision,
        transitions=transitions,
        description=metadata.description,
        icon=gi.get(ICON),
        documentation=gi.get(DOCUMENTATION),
        variables=metadata.variables,
    )
