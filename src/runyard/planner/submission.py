"""A plan's workflow read from the catalog as its owner, with the owner's rights at that moment.

What a submission from the catalog reads (``POST /jobs`` with ``catalog``), for the planner: the
revision the plan names (or the latest), the task references expanded from the catalog the owner
may read, the owner's credential names when a variable's model asks for one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa

from runyard.auth import User, get_user
from runyard.catalog.submitted import read_from_catalog, uses_credentials
from runyard.credentials import Vault
from runyard.errors import NotFoundError
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
    workflow = read_from_catalog(connection, user, bucket, name, revision)
    credentials = vault.names(connection, owner) if uses_credentials(workflow) else None
    return OwnersWorkflow(user, workflow, credentials)
