"""A workflow read for a submission, as its submitter: from its text or from the catalog, the library
task references expanded from what the submitter may read.

What ``POST /jobs`` and the job planner share, so that a planned job is read exactly as one
submitted by hand.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from runyard import formats
from runyard.auth.users import User
from runyard.catalog.objects import read_raw
from runyard.catalog.references import catalog_fetch
from runyard.formats.task_references import expand_references
from runyard.model import Workflow


def read_submitted(connection: sa.Connection, user: User, text: bytes, source: str) -> Workflow:
    """``text`` parsed (``WorkflowError`` if it is no workflow), its task references expanded.

    The stored job holds the library tasks as they were read: it shows what ran.
    """
    workflow = expand_references(formats.loads(text, source=source), catalog_fetch(connection, user))
    # Not a file: relative script paths must not resolve against the server's folder.
    return dataclasses.replace(workflow, source=None)


def read_from_catalog(
    connection: sa.Connection, user: User, bucket: str, name: str, revision: int | None
) -> Workflow:
    """The catalog workflow (``NotFoundError`` if ``user`` may not read it), read as ``read_submitted``."""
    content = read_raw(connection, user, bucket, name, revision)
    return read_submitted(connection, user, content.data, f"catalog:{bucket}/{name}")


def uses_credentials(workflow: Workflow) -> bool:
    """Whether a variable's model is ``PA:CREDENTIAL`` (only then are the user's credential names needed)."""
    variables = [*workflow.variables, *(v for task in workflow.tasks for v in task.variables)]
    return any((v.model or "").strip().upper().startswith("PA:CREDENTIAL") for v in variables)
