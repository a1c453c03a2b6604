"""A plan's workflow read from the catalog as its owner, with the owner's rights at that moment.

What a submission from the catalog reads (``POST /jobs`` with ``catalog``), for the planner: the
revision the plan names (or the latest), the task references expanded from the catalog the owner
may read, the owner's credential names when a variable's model asks for one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa

from runyard import formats
from runyard.auth import User, get_user
from runyard.catalog import read_raw
from runyard.catalog.references import catalog_fetch
from runyard.credentials import Vault
from runyard.errors import NotFoundError
from runyard.formats.task_references import expand_references
from runyard.model import Workflow


@dataclass(frozen=True)
class OwnersWorkflow:
    owner: User
    workflow: Workflow
    credentials: Collection[str] | None
    """The owner's credential names, when a variable's model is ``PA:CREDENTIAL`` (else not read)."""


def read_as_owner(
    connection: sa.Connection, vault: Vault, owner: str, bucket: str, name: str, revision: int | None
) -> OwnersWorkflow:
    """``NotFoundError`` if the owner is gone or may not read it; ``WorkflowError`` if it is no workflow."""
    user = get_user(connection, owner)
    if user is None:
        raise NotFoundError(f"no user {owner!r}: the plan's owner was removed")
    content = read_raw(connection, user, bucket, name, revision)
    workflow = formats.loads(content.data, source=f"catalog:{bucket}/{name}")
    workflow = expand_references(workflow, catalog_fetch(connection, user))
    # Not a file: relative script paths must not resolve against the server's folder.
    workflow = dataclasses.replace(workflow, source=None)
    credentials = vault.names(connection, owner) if _uses_credentials(workflow) else None
    return OwnersWorkflow(user, workflow, credentials)


def _uses_credentials(workflow: Workflow) -> bool:
    variables = [*workflow.variables, *(v for task in workflow.tasks for v in task.variables)]
    return any((v.model or "").strip().upper().startswith("PA:CREDENTIAL") for v in variables)
