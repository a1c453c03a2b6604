"""``/catalog/buckets/{bucket}/resources/{name}/revisions``: list, commit, read, raw, restore.

ProActive names a revision by its commit time in epoch milliseconds (``commit_time_raw``); runyard
numbers revisions and finds the one committed at that millisecond (the newest, should two share it).
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Path, Request, Response
from fastapi.concurrency import run_in_threadpool

from runyard import catalog
from runyard.api.deps import ConfigDep, EngineDep
from runyard.api.proactive.common import ProActiveError, ProActiveUser, proactive_router
from runyard.api.proactive_catalog.catalog_shapes import (
    REVISION_NOT_FOUND,
    WRONG_PARAMETERS,
    commit_time_raw,
    object_metadata,
    rights,
)
from runyard.api.proactive_catalog.resources import catalog_url, put, read_upload
from runyard.api.routers.catalog import raw_response
from runyard.auth import User
from runyard.catalog import Revision

router = proactive_router(prefix="/buckets/{bucket}/resources/{name}/revisions", include_in_schema=False)

CommitTime = Annotated[int, Path(ge=0, le=2**63 - 1, description="Epoch milliseconds")]


@router.get("")
def list_revisions(
    bucket: str, name: str, user: ProActiveUser, engine: EngineDep, config: ConfigDep
) -> list[dict[str, Any]]:
    """Every revision, newest first."""
    with engine.connect() as connection:
        bucket_rights = rights(user, catalog.get_bucket(connection, user, bucket))
        found = catalog.list_revisions(connection, user, bucket, name)
    return [object_metadata(r, catalog_url(config), bucket_rights, pinned=True) for r in found]


@router.post("", status_code=201)
async def commit_revision(
    bucket: str, name: str, request: Request, user: ProActiveUser, engine: EngineDep, config: ConfigDep
) -> dict[str, Any]:
    """The next revision of an existing object from the multipart part ``file`` with ``commitMessage``
    (``projectName`` and ``tags`` optional); kind and content type are kept."""
    data, params = await read_upload(request)
    if "commitMessage" not in params:
        raise ProActiveError(400, "missing parameter 'commitMessage'", WRONG_PARAMETERS)
    revision = await run_in_threadpool(_commit, engine, user, bucket, name, data, params)
    return object_metadata(revision, catalog_url(config), "admin", pinned=True)


@router.get("/{commit_time}")
def get_revision(
    bucket: str, name: str, commit_time: CommitTime, user: ProActiveUser, engine: EngineDep, config: ConfigDep
) -> dict[str, Any]:
    with engine.connect() as connection:
        bucket_rights = rights(user, catalog.get_bucket(connection, user, bucket))
        revision = find_revision(connection, user, bucket, name, commit_time)
    return object_metadata(revision, catalog_url(config), bucket_rights, pinned=True)


@router.get("/{commit_time}/raw")
def get_revision_raw(
    bucket: str, name: str, commit_time: CommitTime, user: ProActiveUser, engine: EngineDep
) -> Response:
    with engine.connect() as connection:
        revision = find_revision(connection, user, bucket, name, commit_time)
        return raw_response(catalog.read_raw(connection, user, bucket, name, revision.revision))


@router.put("/{commit_time}")
def restore_revision(
    bucket: str, name: str, commit_time: CommitTime, user: ProActiveUser, engine: EngineDep, config: ConfigDep
) -> dict[str, Any]:
    """Commit a copy of that revision as the newest one."""
    with engine.begin() as connection:
        old = find_revision(connection, user, bucket, name, commit_time)
        restored = catalog.restore_revision(connection, user, bucket, name, old.revision)
    return object_metadata(restored, catalog_url(config), "admin", pinned=True)


def find_revision(
    connection: sa.Connection, user: User, bucket: str, name: str, commit_time: int
) -> Revision:
    """The revision of ``bucket/name`` committed at ``commit_time`` (epoch milliseconds)."""
    for revision in catalog.list_revisions(connection, user, bucket, name):
        if commit_time_raw(revision) == commit_time:
            return revision
    message = f"Revision was not found for bucketName: {bucket} object name: {name} revision: {commit_time}"
    raise ProActiveError(404, message, REVISION_NOT_FOUND)


def _commit(
    engine: sa.Engine, user: User, bucket: str, name: str, data: bytes, params: dict[str, str]
) -> Revision:
    with engine.begin() as connection:
        catalog.get_object(connection, user, bucket, name)  # a new revision of an object that exists
        return put(connection, user, bucket, name, data, params)
