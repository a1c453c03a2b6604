"""``/catalog/buckets``: list (with ProActive's object filters), create, read, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from runyard import catalog
from runyard.api.deps import EngineDep
from runyard.api.proactive.common import ProActiveError, ProActiveUser, proactive_router
from runyard.api.proactive_catalog.catalog_shapes import BUCKET_NOT_EMPTY, PUBLIC_OWNER, bucket_metadata
from runyard.api.proactive_catalog.listing import ObjectFilter, find_objects
from runyard.errors import ConflictError

router = proactive_router(prefix="/buckets", include_in_schema=False)

Text = Annotated[str | None, Query(max_length=255)]


@router.get("")
def list_buckets(
    user: ProActiveUser,
    engine: EngineDep,
    owner: Text = None,
    kind: Annotated[str | None, Query(max_length=2000)] = None,
    content_type: Annotated[str | None, Query(alias="contentType", max_length=255)] = None,
    object_name: Annotated[str | None, Query(alias="objectName", max_length=255)] = None,
    bucket_name: Annotated[str | None, Query(alias="bucketName", max_length=255)] = None,
    all_buckets: Annotated[bool, Query(alias="allBuckets")] = False,
) -> list[dict[str, Any]]:
    """Buckets you may read, by name; with object filters, those holding a matching object (all of them
    with ``allBuckets``), ``objectCount`` counting the matching ones."""
    found = ObjectFilter.of(kind, content_type, object_name)
    pattern = None
    if bucket_name:
        pattern = bucket_name.replace("%", "*") if "%" in bucket_name else f"*{bucket_name}*"
    answer = []
    with engine.connect() as connection:
        for bucket in catalog.list_buckets(connection, user, name=pattern):
            if owner and owner != (PUBLIC_OWNER if bucket.public else bucket.owner):
                continue
            count = None if found.is_empty else len(find_objects(connection, user, bucket.name, found))
            if count == 0 and not all_buckets:
                continue
            answer.append(bucket_metadata(user, bucket, count))
    return answer


@router.post("", status_code=201)
def create_bucket(
    user: ProActiveUser,
    engine: EngineDep,
    name: Annotated[str, Query(max_length=255)],
    owner: Annotated[str, Query(max_length=255)] = PUBLIC_OWNER,
) -> dict[str, Any]:
    """ProActive's default owner, ``GROUP:public-objects``, makes a public bucket owned by you; a user's
    name a private bucket of theirs (another user's: admins only)."""
    if owner == PUBLIC_OWNER:
        public, owner_name = True, None
    elif owner.startswith("GROUP:"):
        raise ProActiveError(400, f"owner {owner!r}: the only group runyard knows is {PUBLIC_OWNER}")
    else:
        public, owner_name = False, owner
    with engine.begin() as connection:
        bucket = catalog.create_bucket(connection, user, name, public=public, owner=owner_name)
    return bucket_metadata(user, bucket)


@router.get("/{bucket}")
def get_bucket(bucket: str, user: ProActiveUser, engine: EngineDep) -> dict[str, Any]:
    with engine.connect() as connection:
        return bucket_metadata(user, catalog.get_bucket(connection, user, bucket))


@router.delete("/{bucket}")
def delete_bucket(bucket: str, user: ProActiveUser, engine: EngineDep) -> dict[str, Any]:
    """An empty bucket only, as ProActive (403 otherwise); answers what it was."""
    with engine.begin() as connection:
        deleted = bucket_metadata(user, catalog.get_bucket(connection, user, bucket))
        try:
            catalog.delete_bucket(connection, user, bucket)
        except ConflictError as error:
            raise ProActiveError(403, str(error), BUCKET_NOT_EMPTY) from None
    return deleted
