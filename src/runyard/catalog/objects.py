"""Catalog objects: named contents of a bucket (workflows, scripts...), seen through their latest revision.

Putting content under a name creates the object or commits its next revision. What is not given
(kind, content type, project, tags) is kept from the latest revision; a workflow's own project
name and tags are taken from its definition, which must parse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from runyard.auth.users import User
from runyard.catalog._queries import LATEST_REVISION
from runyard.catalog.buckets import get_bucket, writable_bucket
from runyard.catalog.metadata import workflow_metadata
from runyard.catalog.names import (
    check_commit_message,
    check_content_type,
    check_filter,
    check_kind,
    check_name,
    check_project_name,
    is_workflow_kind,
    kind_clause,
    name_clause,
    parse_tags,
)
from runyard.catalog.revisions import (
    DESCRIPTION_COLUMNS,
    CatalogContent,
    Revision,
    RevisionContent,
    commit,
    find_revision,
    load_content,
    load_revision,
    to_revisions,
)
from runyard.errors import InvalidRequestError, NotFoundError
from runyard.store.schema import catalog_objects, catalog_revision_tags, catalog_revisions

MAX_PAGE = 1000
"""Most objects one listing returns."""


@dataclass(frozen=True)
class ObjectPage:
    """One page of a listing: the latest revision of each object, and how many objects matched in all."""

    items: list[Revision]
    total: int


def put_object(
    connection: sa.Connection,
    user: User,
    bucket: str,
    name: str,
    data: bytes,
    *,
    commit_message: str = "",
    kind: str | None = None,
    content_type: str | None = None,
    project_name: str | None = None,
    tags: Iterable[str] | None = None,
) -> Revision:
    """Commit ``data`` as the next revision of ``bucket/name`` (revision 1 of a new object).

    A workflow kind whose content does not parse raises ``WorkflowError`` and stores nothing.
    """
    writable_bucket(connection, user, bucket)
    check_name("object", name)
    message = check_commit_message(commit_message)
    previous = find_revision(connection, bucket, name)
    content = describe(
        bucket,
        name,
        data,
        kind=kind,
        content_type=content_type,
        project_name=project_name,
        tags=tags,
        previous=previous,
    )
    return commit(connection, bucket, name, content, message=message, author=user.name)


def describe(
    bucket: str,
    name: str,
    data: bytes,
    *,
    kind: str | None,
    content_type: str | None,
    project_name: str | None,
    tags: Iterable[str] | None,
    previous: Revision | None = None,
) -> RevisionContent:
    """Check and complete what a new revision of ``bucket/name`` stores; ``previous`` fills the gaps."""
    if kind is None:
        if previous is None:
            raise InvalidRequestError(f"a kind is needed for the new object {bucket}/{name}")
        kind = previous.kind
    check_kind(kind)
    metadata = workflow_metadata(data, f"{bucket}/{name}") if is_workflow_kind(kind) else None
    if content_type is not None:
        content_type = check_content_type(content_type)
    elif previous is not None and metadata is None:
        content_type = previous.content_type
    else:
        content_type = _sniff(data, workflow=metadata is not None)
    if project_name is not None:
        project_name = check_project_name(project_name)
    elif metadata is not None and metadata.project_name:
        project_name = metadata.project_name
    elif previous is not None:
        project_name = previous.project_name
    given = previous.tags if tags is None and previous is not None else tuple(tags or ())
    found = parse_tags((*given, *(metadata.tags if metadata else ())))
    return RevisionContent(data, kind, content_type, project_name, found, metadata)


def list_objects(
    connection: sa.Connection,
    user: User,
    bucket: str,
    *,
    kind: str | None = None,
    content_type: str | None = None,
    tag: str | None = None,
    project_name: str | None = None,
    name: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> ObjectPage:
    """Objects of the bucket by name, filtered on their latest revision.

    ``kind`` matches itself and the kinds below it (``Workflow`` matches ``Workflow/psa``); ``name``
    may hold ``*`` wildcards; the other filters are exact.
    """
    get_bucket(connection, user, bucket)
    filters = {"kind": kind, "content type": content_type, "tag": tag, "project": project_name, "name": name}
    for what, value in filters.items():
        check_filter(what, value)
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidRequestError(f"limit must be 1 to {MAX_PAGE} and offset at least 0")
    r = catalog_revisions.c
    conditions: list[sa.ColumnElement[bool]] = [catalog_objects.c.bucket_name == bucket]
    if kind is not None:
        conditions.append(kind_clause(r.kind, kind))
    if content_type is not None:
        conditions.append(r.content_type == content_type)
    if project_name is not None:
        conditions.append(r.project_name == project_name)
    if name is not None:
        conditions.append(name_clause(catalog_objects.c.name, name))
    if tag is not None:
        t = catalog_revision_tags.c
        conditions.append(
            sa.select(t.tag)
            .where(
                t.bucket_name == r.bucket_name,
                t.object_name == r.object_name,
                t.revision == r.revision,
                t.tag == tag,
            )
            .exists()
        )
    query = (
        sa.select(*DESCRIPTION_COLUMNS)
        .select_from(catalog_objects.join(catalog_revisions, LATEST_REVISION))
        .where(*conditions)
    )
    total = connection.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = connection.execute(query.order_by(catalog_objects.c.name).limit(limit).offset(offset)).all()
    return ObjectPage(to_revisions(connection, rows), int(total))


def get_object(connection: sa.Connection, user: User, bucket: str, name: str) -> Revision:
    """The object's latest revision."""
    get_bucket(connection, user, bucket)
    check_name("object", name)
    return load_revision(connection, bucket, name)


def delete_object(connection: sa.Connection, user: User, bucket: str, name: str) -> None:
    """Delete the object and all its revisions."""
    writable_bucket(connection, user, bucket)
    check_name("object", name)
    deleted = connection.execute(
        sa.delete(catalog_objects).where(
            catalog_objects.c.bucket_name == bucket, catalog_objects.c.name == name
        )
    )
    if deleted.rowcount == 0:
        raise NotFoundError(f"no object {name!r} in bucket {bucket!r}")


def read_raw(
    connection: sa.Connection, user: User, bucket: str, name: str, revision: int | None = None
) -> CatalogContent:
    """The content of a revision (``None``: the latest) with its content type, if ``user`` may read it."""
    get_bucket(connection, user, bucket)
    check_name("object", name)
    return load_content(connection, bucket, name, revision)


def _sniff(data: bytes, *, workflow: bool) -> str:
    """A content type for ``data`` when none was given."""
    if workflow:
        return "application/xml" if data.lstrip().startswith(b"<") else "application/yaml"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"
