"""Buckets: named, owned folders of catalog objects, public or private."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from runyard.auth.users import NAME_PATTERN as USER_NAME
from runyard.auth.users import User, get_user
from runyard.catalog import access
from runyard.catalog._queries import LATEST_REVISION
from runyard.catalog.names import check_filter, check_name, kind_clause, name_clause
from runyard.errors import ConflictError, ForbiddenError, InvalidRequestError, NotFoundError
from runyard.store.schema import catalog_buckets, catalog_objects, catalog_revisions


@dataclass(frozen=True)
class Bucket:
    name: str
    owner: str
    public: bool
    created_at: float
    object_count: int


def create_bucket(
    connection: sa.Connection, user: User, name: str, *, public: bool = False, owner: str | None = None
) -> Bucket:
    """A new bucket owned by ``owner`` (default: ``user``, who must be an admin to name someone else)."""
    check_name("bucket", name)
    owner = user.name if owner is None else owner
    if not access.may_give_to(user, owner):
        raise ForbiddenError("only an admin may create a bucket for another user")
    if owner != user.name and (not USER_NAME.match(owner) or get_user(connection, owner) is None):
        raise InvalidRequestError(f"cannot give the bucket to {owner!r}: there is no such user")
    return insert_bucket(connection, name, owner=owner, public=public)


def insert_bucket(connection: sa.Connection, name: str, *, owner: str, public: bool) -> Bucket:
    """Store a new bucket, checking no rights (the built-in loader uses it directly).

    Bucket names are one namespace: a taken name answers the same ``ConflictError`` whoever holds it,
    public or private (it tells that the name is taken, as any shared namespace must, never by whom)."""
    taken = ConflictError(f"the bucket name {name!r} is not available: choose another")
    if find_bucket(connection, name) is not None:
        raise taken
    bucket = Bucket(name, owner, public, time.time(), 0)
    try:
        connection.execute(
            sa.insert(catalog_buckets).values(
                name=name, owner=owner, public=public, created_at=bucket.created_at
            )
        )
    except sa.exc.IntegrityError:
        raise taken from None
    return bucket


def list_buckets(
    connection: sa.Connection,
    user: User,
    *,
    owner: str | None = None,
    kind: str | None = None,
    name: str | None = None,
) -> list[Bucket]:
    """Buckets ``user`` may read, by name; ``kind`` keeps those holding an object of that kind,
    ``name`` may hold ``*`` wildcards."""
    for what, value in (("owner", owner), ("kind", kind), ("name", name)):
        check_filter(what, value)
    query = _select()
    if not user.is_admin:
        query = query.where(sa.or_(catalog_buckets.c.public, catalog_buckets.c.owner == user.name))
    if owner is not None:
        query = query.where(catalog_buckets.c.owner == owner)
    if name is not None:
        query = query.where(name_clause(catalog_buckets.c.name, name))
    if kind is not None:
        query = query.where(
            sa.select(catalog_objects.c.name)
            .join(catalog_revisions, LATEST_REVISION)
            .where(
                catalog_objects.c.bucket_name == catalog_buckets.c.name,
                kind_clause(catalog_revisions.c.kind, kind),
            )
            .exists()
        )
    rows = connection.execute(query.order_by(catalog_buckets.c.name))
    return [_bucket(row) for row in rows]


def get_bucket(connection: sa.Connection, user: User, name: str) -> Bucket:
    """The bucket, if ``user`` may read it; ``NotFoundError`` otherwise."""
    check_name("bucket", name)
    bucket = find_bucket(connection, name)
    if bucket is None or not access.may_read(user, bucket):
        raise NotFoundError(f"no bucket {name!r}")
    return bucket


def writable_bucket(connection: sa.Connection, user: User, name: str) -> Bucket:
    """The bucket, if ``user`` may write to it; ``ForbiddenError`` if they may only read it."""
    bucket = get_bucket(connection, user, name)
    if not access.may_write(user, bucket):
        raise ForbiddenError(
            f"bucket {name!r} belongs to {bucket.owner!r}: only they or an admin may change it"
        )
    return bucket


def delete_bucket(connection: sa.Connection, user: User, name: str, *, force: bool = False) -> None:
    """Delete a bucket; one holding objects only with ``force`` (its objects go with it)."""
    bucket = writable_bucket(connection, user, name)
    if bucket.object_count and not force:
        raise ConflictError(
            f"bucket {name!r} holds {bucket.object_count} objects: delete them first, or force the deletion"
        )
    connection.execute(sa.delete(catalog_buckets).where(catalog_buckets.c.name == name))


def _select() -> sa.Select[tuple[str, str, bool, float, int]]:
    count = (
        sa.select(sa.func.count())
        .where(catalog_objects.c.bucket_name == catalog_buckets.c.name)
        .scalar_subquery()
        .label("object_count")
    )
    return sa.select(
        catalog_buckets.c.name,
        catalog_buckets.c.owner,
        catalog_buckets.c.public,
        catalog_buckets.c.created_at,
        count,
    )


def find_bucket(connection: sa.Connection, name: str) -> Bucket | None:
    """The bucket named ``name``, whoever may see it (``None`` if there is none)."""
    row = connection.execute(_select().where(catalog_buckets.c.name == name)).first()
    return None if row is None else _bucket(row)


def _bucket(row: sa.Row[tuple[str, str, bool, float, int]]) -> Bucket:
    return Bucket(row.name, row.owner, bool(row.public), row.created_at, int(row.object_count))
