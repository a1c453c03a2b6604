"""Task references resolved against the catalog, as the user who submits the workflow may read it."""

from __future__ import annotations

import sqlalchemy as sa

from runyard.auth import User
from runyard.catalog.buckets import get_bucket
from runyard.catalog.names import check_name
from runyard.catalog.revisions import find_revision, load_content
from runyard.errors import InvalidRequestError, NotFoundError
from runyard.formats.task_references import Fetch, LibraryObject, UnresolvedReference
from runyard.model.references import TaskReference


def catalog_fetch(connection: sa.Connection, user: User) -> Fetch:
    """Fetches objects ``user`` may read (an unreadable bucket is answered as unknown); a reference
    without revision takes the latest, and the expanded task records which one it was."""

    def fetch(reference: TaskReference) -> LibraryObject:
        try:
            get_bucket(connection, user, reference.bucket)
            check_name("object", reference.name)
            number = reference.revision
            if number is None:
                latest = find_revision(connection, reference.bucket, reference.name)
                if latest is None:
                    raise NotFoundError(f"no object {reference.name!r} in bucket {reference.bucket!r}")
                number = latest.revision
            content = load_content(connection, reference.bucket, reference.name, number)
        except (NotFoundError, InvalidRequestError) as error:
            raise UnresolvedReference(f"{reference}: {error}") from None
        return LibraryObject(content.data, number)

    return fetch
