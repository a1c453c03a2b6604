"""What the person may change in a bucket, as the API decides it (owners and admins write), said before
they try rather than refused after."""

from __future__ import annotations

from nicegui import ui

from runyard.client.documents import Bucket
from runyard.web.sessions import Session

#: The owner the API names for the buckets shipped with runyard.
BUILTIN_OWNER = "runyard:builtin"


def writable(session: Session, bucket: Bucket) -> bool:
    return session.admin or bucket["owner"] == session.user


def read_only_notice(session: Session, bucket: Bucket) -> None:
    """A line saying why the bucket cannot be changed here, when it cannot."""
    if writable(session, bucket):
        return
    if bucket["owner"] == BUILTIN_OWNER:
        why = (
            "A built-in bucket, shipped with runyard: read-only (admins may commit revisions). "
            "To change an object, upload a copy to a bucket of yours."
        )
    else:
        why = f"Read-only: this bucket belongs to {bucket['owner']}."
    with (
        ui.row()
        .classes("items-center gap-2 text-gray-700 bg-amber-50 rounded px-3 py-2")
        .props('role="note"')
    ):
        ui.icon("lock")
        ui.label(why)
