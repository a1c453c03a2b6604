"""Importing a ProActive catalog folder into a server's catalog through the SDK (``runyard catalog import``).

The folder is read where the client runs (:func:`runyard.catalog.importing.read_catalog`), so a remote
server never reads the client's files; each object is then pushed with the caller's rights, the
server applying the catalog's rules (who may create a bucket, write into it). An object whose latest
revision already holds the same content, kind, content type and project is left alone: importing
twice makes no new revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runyard.catalog.importing import CatalogFile, Refused, read_catalog
from runyard.client.clients import Client
from runyard.client.errors import ApiError

Outcome = Literal["imported", "updated", "unchanged", "refused"]


@dataclass(frozen=True)
class ImportOutcome:
    """What became of one object: ``revision`` is its latest one (``None`` when refused)."""

    bucket: str
    name: str
    outcome: Outcome
    revision: int | None = None
    reason: str = ""


def import_catalog(client: Client, root: Path) -> list[ImportOutcome]:
    """Import every object of the ProActive catalog folder ``root``; one outcome per object listed.

    Buckets missing on the server are created (public when ProActive's ``userGroup`` is
    ``public-objects``... as every bucket of its public catalog); raises ``InvalidRequestError`` when an
    index cannot be read, before anything is written."""
    items = read_catalog(root)
    ready: set[str] = set()
    outcomes = []
    for item in items:
        if isinstance(item, Refused):
            outcomes.append(ImportOutcome(item.bucket, item.name, "refused", reason=item.reason))
            continue
        try:
            if item.bucket not in ready:
                _ensure_bucket(client, item.bucket)
                ready.add(item.bucket)
            outcomes.append(_push(client, item))
        except ApiError as error:
            outcomes.append(ImportOutcome(item.bucket, item.name, "refused", reason=error.message))
    return outcomes


def _ensure_bucket(client: Client, bucket: str) -> None:
    try:
        client.get_bucket(bucket)
    except ApiError as error:
        if error.status != 404:
            raise
        client.create_bucket(bucket, public=True)


def _push(client: Client, item: CatalogFile) -> ImportOutcome:
    try:
        latest = client.get_object(item.bucket, item.name)
    except ApiError as error:
        if error.status != 404:
            raise
        latest = None
    if latest is not None:
        same = (
            latest["kind"] == item.kind
            and (item.content_type is None or latest["content_type"] == item.content_type)
            and (item.project_name is None or latest["project_name"] == item.project_name)
            and client.pull_object(item.bucket, item.name) == item.data
        )
        if same:
            return ImportOutcome(item.bucket, item.name, "unchanged", latest["revision"])
    revision = client.push_object(
        item.bucket,
        item.name,
        item.data,
        kind=item.kind,
        commit_message=item.commit_message or f"imported from {item.path.name}",
        content_type=item.content_type,
        project_name=item.project_name,
    )
    return ImportOutcome(
        item.bucket, item.name, "imported" if latest is None else "updated", revision["revision"]
    )
