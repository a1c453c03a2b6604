"""Services as the catalog defines them: workflows sharing GI ``pca.service.id``, each one an action.

Nothing is stored about services themselves: every call reads the latest revision of the catalog's
workflows the user may read, so pushing a workflow is all it takes to add or change an action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from runyard.auth import User
from runyard.catalog import Revision, VariableMetadata, list_buckets
from runyard.catalog._queries import LATEST_REVISION
from runyard.catalog.revisions import DESCRIPTION_COLUMNS, to_revisions
from runyard.errors import ConflictError, InvalidRequestError, NotFoundError
from runyard.services.states import VOID, Transition, parse_states
from runyard.store.schema import catalog_objects, catalog_revisions

SERVICE_ID = "pca.service.id"
STATES = "pca.states"
ICON = "workflow.icon"
DOCUMENTATION = "Documentation"


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
    """Every service whose workflows ``user`` may read, by id; its actions by bucket and name."""
    actions: dict[str, list[Action]] = {}
    for revision in _workflows(connection, user):
        action = _action(revision)
        if action is not None:
            actions.setdefault(action.service_id, []).append(action)
    return [Service(sid, tuple(found)) for sid, found in sorted(actions.items())]


def get_service(connection: sa.Connection, user: User, service_id: str) -> Service:
    for service in list_services(connection, user):
        if service.id == service_id:
            return service
    raise NotFoundError(f"no service {service_id!r}")


def find_activation(
    connection: sa.Connection, user: User, service_id: str, name: str | None = None, bucket: str | None = None
) -> Action:
    """The activation action to start ``service_id`` with: the one called ``name`` (in ``bucket``), or
    the only one there is."""
    service = get_service(connection, user, service_id)
    candidates = [
        a
        for a in service.activations
        if (name is None or a.name == name) and (bucket is None or a.bucket == bucket)
    ]
    if len(candidates) == 1:
        return candidates[0]
    names = ", ".join(f"{a.bucket}/{a.name}" for a in service.activations) or "none"
    if not candidates:
        wanted = f" called {name!r}" if name else ""
        raise NotFoundError(
            f"service {service_id!r} has no activation workflow{wanted} (activations: {names})"
        )
    raise ConflictError(f"service {service_id!r} has several activation workflows ({names}): name one")


def _workflows(connection: sa.Connection, user: User) -> Iterable[Revision]:
    readable = [bucket.name for bucket in list_buckets(connection, user)]
    if not readable:
        return []
    r = catalog_revisions.c
    query = (
        sa.select(*DESCRIPTION_COLUMNS)
        .select_from(catalog_objects.join(catalog_revisions, LATEST_REVISION))
        .where(catalog_objects.c.bucket_name.in_(readable), r.workflow_metadata.is_not(None))
        .order_by(catalog_objects.c.bucket_name, catalog_objects.c.name)
    )
    return to_revisions(connection, connection.execute(query).all())


def _action(revision: Revision) -> Action | None:
    metadata = revision.metadata
    if metadata is None:
        return None
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
        bucket=revision.bucket,
        name=revision.name,
        revision=revision.revision,
        transitions=transitions,
        description=metadata.description,
        icon=gi.get(ICON),
        documentation=gi.get(DOCUMENTATION),
        variables=metadata.variables,
    )
