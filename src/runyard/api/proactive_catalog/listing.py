"""ProActive's object filters over the catalog's listing: several kinds at once, names that contain a text."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from runyard import catalog
from runyard.auth import User
from runyard.catalog import Revision
from runyard.catalog.objects import MAX_PAGE


@dataclass(frozen=True)
class ObjectFilter:
    """What ProActive's ``kind`` (comma-separated, each matching itself and the kinds below it),
    ``contentType`` and ``objectName`` (contained, ignoring case) keep."""

    kinds: tuple[str, ...] = ()
    content_type: str | None = None
    object_name: str | None = None

    @classmethod
    def of(cls, kind: str | None, content_type: str | None, object_name: str | None) -> ObjectFilter:
        kinds = tuple(k.strip() for k in (kind or "").split(",") if k.strip())
        return cls(kinds, content_type or None, object_name or None)

    @property
    def is_empty(self) -> bool:
        return not (self.kinds or self.content_type or self.object_name)


def find_objects(connection: sa.Connection, user: User, bucket: str, found: ObjectFilter) -> list[Revision]:
    """The latest revision of each object of ``bucket`` the filter keeps, by name."""
    name = None if found.object_name is None else f"*{found.object_name}*"
    by_name: dict[str, Revision] = {}
    for kind in found.kinds or (None,):
        offset, total = 0, 1
        while offset < total:
            page = catalog.list_objects(
                connection,
                user,
                bucket,
                kind=kind,
                content_type=found.content_type,
                name=name,
                limit=MAX_PAGE,
                offset=offset,
            )
            by_name.update((r.name, r) for r in page.items)
            offset, total = offset + MAX_PAGE, page.total
    return [by_name[n] for n in sorted(by_name)]
