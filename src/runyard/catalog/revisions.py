"""Revisions: every update of a catalog object is a new, numbered, immutable revision (1, 2, 3...).

A revision keeps its content and what describes it (kind, content type, project, tags, extracted
workflow metadata) with who committed it, when, and why. Restoring an old revision commits a new
one with the old content: history is never rewritten.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.auth.users import User
from runyard.catalog._queries import LATEST_REVISION
from runyard.catalog.buckets import get_bucket, writable_bucket
from runyard.catalog.metadata import WorkflowMetadata
from runyard.catalog.names import check_name
from runyard.errors import ConflictError, NotFoundError
from runyard.store.schema import catalog_objects, catalog_revision_tags, catalog_revisions

DESCRIPTION_COLUMNS = [c for c in catalog_revisions.c if c.name != "content"]
"""Every column of a revision but its content (listings never load contents)."""


@dataclass(frozen=True)
class Revision:
    """One revision of an object, without its content."""

    bucket: str
    name: str
    revision: int
    kind: str
    content_type: str
    project_name: str | None
    tags: tuple[str, ...]
    commit_time: float
    commit_message: str
    author: str
    builtin: bool
    """Written by the built-in bucket loader (which may replace it by a newer built-in revision)."""
    metadata: WorkflowMetadata | None
    """What was read out of the content, for workflow kinds."""


@dataclass(frozen=True)
class RevisionContent:
    """What a new revision stores besides who committed it and when."""

    data: bytes
    kind: str
    content_type: str
    project_name: str | None
    tags: tuple[str, ...]
    metadata: WorkflowMetadata | None

    @classmethod
    def of(cls, revision: Revision, data: bytes) -> RevisionContent:
        return cls(
            data,
            revision.kind,
            revision.content_type,
            revision.project_name,
            revision.tags,
            revision.metadata,
        )


@dataclass(frozen=True)
class CatalogContent:
    """The raw content of a revision and the media type to serve it with."""

    data: bytes
    content_type: str


def list_revisions(connection: sa.Connection, user: User, bucket: str, name: str) -> list[Revision]:
    """Every revision of the object, newest first."""
    get_bucket(connection, user, bucket)
    check_name("object", name)
    rows = connection.execute(
        sa.select(*DESCRIPTION_COLUMNS)
        .where(catalog_revisions.c.bucket_name == bucket, catalog_revisions.c.object_name == name)
        .order_by(catalog_revisions.c.revision.desc())
    ).all()
    if not rows:
        raise _not_found(connection, bucket, name, None)
    return to_revisions(connection, rows)


def get_revision(connection: sa.Connection, user: User, bucket: str, name: str, revision: int) -> Revision:
    get_bucket(connection, user, bucket)
    check_name("object", name)
    return load_revision(connection, bucket, name, revision)


def restore_revision(
    connection: sa.Connection, user: User, bucket: str, name: str, revision: int
) -> Revision:
    """Commit, as the newest revision, a copy of revision ``revision``."""
    writable_bucket(connection, user, bucket)
    check_name("object", name)
    old = load_revision(connection, bucket, name, revision)
    content = RevisionContent.of(old, load_content(connection, bucket, name, revision).data)
    return commit(
        connection, bucket, name, content, message=f"restored revision {revision}", author=user.name
    )


def commit(
    connection: sa.Connection,
    bucket: str,
    name: str,
    content: RevisionContent,
    *,
    message: str,
    author: str,
    builtin: bool = False,
) -> Revision:
    """Store ``content`` as the next revision of the object, creating the object if needed.

    Checks no rights and no values: callers have done both.
    """
    now = time.time()
    number = _next_number(connection, bucket, name, now)
    connection.execute(
        sa.insert(catalog_revisions).values(
            bucket_name=bucket,
            object_name=name,
            revision=number,
            kind=content.kind,
            content_type=content.content_type,
            project_name=content.project_name,
            commit_time=now,
            commit_message=message,
            author=author,
            builtin=builtin,
            content=content.data,
            workflow_metadata=None if content.metadata is None else content.metadata.to_json(),
        )
    )
    if content.tags:
        connection.execute(
            sa.insert(catalog_revision_tags),
            [
                {"bucket_name": bucket, "object_name": name, "revision": number, "tag": t}
                for t in content.tags
            ],
        )
    return Revision(
        bucket=bucket,
        name=name,
        revision=number,
        kind=content.kind,
        content_type=content.content_type,
        project_name=content.project_name,
        tags=content.tags,
        commit_time=now,
        commit_message=message,
        author=author,
        builtin=builtin,
        metadata=content.metadata,
    )


def load_revision(connection: sa.Connection, bucket: str, name: str, number: int | None = None) -> Revision:
    """Revision ``number`` of the object (``None``: the latest); ``NotFoundError`` if there is none."""
    found = find_revision(connection, bucket, name, number)
    if found is None:
        raise _not_found(connection, bucket, name, number)
    return found


def find_revision(
    connection: sa.Connection, bucket: str, name: str, number: int | None = None
) -> Revision | None:
    """Like :func:`load_revision`, ``None`` if there is no such revision."""
    row = connection.execute(_one(DESCRIPTION_COLUMNS, bucket, name, number)).first()
    return None if row is None else to_revisions(connection, [row])[0]


def load_content(
    connection: sa.Connection, bucket: str, name: str, number: int | None = None
) -> CatalogContent:
    """The content of revision ``number`` (``None``: the latest); ``NotFoundError`` if there is none."""
    columns = [catalog_revisions.c.content, catalog_revisions.c.content_type]
    row = connection.execute(_one(columns, bucket, name, number)).first()
    if row is None:
        raise _not_found(connection, bucket, name, number)
    return CatalogContent(bytes(row.content), row.content_type)


def to_revisions(connection: sa.Connection, rows: Sequence[sa.Row[Any]]) -> list[Revision]:
    """Revisions from rows of :data:`DESCRIPTION_COLUMNS`, with their tags (one more query)."""
    tags = _tags(connection, rows)
    return [
        Revision(
            bucket=row.bucket_name,
            name=row.object_name,
            revision=row.revision,
            kind=row.kind,
            content_type=row.content_type,
            project_name=row.project_name,
            tags=tags.get((row.bucket_name, row.object_name, row.revision), ()),
            commit_time=row.commit_time,
            commit_message=row.commit_message,
            author=row.author,
            builtin=bool(row.builtin),
            metadata=None
            if row.workflow_metadata is None
            else WorkflowMetadata.from_json(row.workflow_metadata),
        )
        for row in rows
    ]


def _tags(
    connection: sa.Connection, rows: Sequence[sa.Row[Any]]
) -> dict[tuple[str, str, int], tuple[str, ...]]:
    keys = [(row.bucket_name, row.object_name, row.revision) for row in rows]
    if not keys:
        return {}
    t = catalog_revision_tags.c
    found: dict[tuple[str, str, int], list[str]] = {}
    for row in connection.execute(
        sa.select(t.bucket_name, t.object_name, t.revision, t.tag)
        .where(sa.tuple_(t.bucket_name, t.object_name, t.revision).in_(keys))
        .order_by(t.tag)
    ):
        found.setdefault((row.bucket_name, row.object_name, row.revision), []).append(row.tag)
    return {key: tuple(values) for key, values in found.items()}


def _one(
    columns: Sequence[sa.ColumnElement[Any]], bucket: str, name: str, number: int | None
) -> sa.Select[Any]:
    query = sa.select(*columns).where(
        catalog_revisions.c.bucket_name == bucket, catalog_revisions.c.object_name == name
    )
    if number is None:
        return query.join(catalog_objects, LATEST_REVISION)
    return query.where(catalog_revisions.c.revision == number)


def _next_number(connection: sa.Connection, bucket: str, name: str, now: float) -> int:
    """The object's next revision number, counted in its row (which also serialises concurrent commits)."""
    bumped = connection.execute(
        sa.update(catalog_objects)
        .where(catalog_objects.c.bucket_name == bucket, catalog_objects.c.name == name)
        .values(last_revision=catalog_objects.c.last_revision + 1)
        .returning(catalog_objects.c.last_revision)
    ).scalar()
    if bumped is not None:
        return int(bumped)
    try:
        connection.execute(
            sa.insert(catalog_objects).values(bucket_name=bucket, name=name, created_at=now, last_revision=1)
        )
    except sa.exc.IntegrityError:
        raise ConflictError(
            f"object {bucket}/{name} was just created by another request: try again"
        ) from None
    return 1


def _not_found(connection: sa.Connection, bucket: str, name: str, number: int | None) -> NotFoundError:
    exists = connection.execute(
        sa.select(catalog_objects.c.name).where(
            catalog_objects.c.bucket_name == bucket, catalog_objects.c.name == name
        )
    ).first()
    if exists is None:
        return NotFoundError(f"no object {name!r} in bucket {bucket!r}")
    return NotFoundError(f"object {bucket}/{name} has no revision {number}")
