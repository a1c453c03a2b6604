"""Built-in buckets: catalog content shipped as data in ``runyard/buckets/<bucket>/``, loaded at start.

Each folder is a bucket; its ``METADATA.json`` says whether the bucket is public and lists its
objects (``name``, ``file``, ``kind``, and optionally ``content_type``, ``project_name``, ``tags``).
Loading never overwrites a user's work: an object is written only if it is absent, or if its latest
revision also came from the loader and differs from the shipped one (an upgrade of runyard). An
object a user has changed stays as they left it, and loading twice writes nothing the second time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import sqlalchemy as sa

from runyard.catalog.buckets import find_bucket, insert_bucket
from runyard.catalog.names import check_name
from runyard.catalog.objects import describe
from runyard.catalog.revisions import RevisionContent, commit, find_revision, load_content
from runyard.errors import InvalidRequestError
from runyard.formats.task_references import LibraryObject, UnresolvedReference
from runyard.model.references import TaskReference

BUILTIN_OWNER = "runyard:builtin"
"""Owner of the built-in buckets and author of their revisions; no user can have this name (it has a ``:``),
so only admins may change them."""

INDEX = "METADATA.json"
COMMIT_MESSAGE = "built-in content shipped with runyard"


@dataclass(frozen=True)
class _Entry:
    name: str
    file: str
    kind: str
    content_type: str | None
    project_name: str | None
    tags: tuple[str, ...]


def load_builtin_buckets(connection: sa.Connection, root: Traversable | None = None) -> list[str]:
    """Create or update the built-in buckets under ``root`` (default: the package's); returns the
    ``bucket/name`` of every object written."""
    root = root if root is not None else resources.files("runyard") / "buckets"
    written: list[str] = []
    folders = [f for f in root.iterdir() if f.is_dir() and f.joinpath(INDEX).is_file()]
    for folder in sorted(folders, key=lambda f: f.name):
        bucket = check_name("bucket", folder.name)
        public, entries = _read_index(folder)
        if find_bucket(connection, bucket) is None:
            insert_bucket(connection, bucket, owner=BUILTIN_OWNER, public=public)
        for entry in entries:
            check_name("object", entry.name)
            content = describe(
                bucket,
                entry.name,
                folder.joinpath(entry.file).read_bytes(),
                kind=entry.kind,
                content_type=entry.content_type,
                project_name=entry.project_name,
                tags=entry.tags,
            )
            if _should_write(connection, bucket, entry.name, content):
                commit(
                    connection,
                    bucket,
                    entry.name,
                    content,
                    message=COMMIT_MESSAGE,
                    author=BUILTIN_OWNER,
                    builtin=True,
                )
                written.append(f"{bucket}/{entry.name}")
    return written


def _should_write(connection: sa.Connection, bucket: str, name: str, content: RevisionContent) -> bool:
    latest = find_revision(connection, bucket, name)
    if latest is None:
        return True
    if not latest.builtin:
        return False  # a user's revision: theirs to keep
    return RevisionContent.of(latest, load_content(connection, bucket, name, latest.revision).data) != content


def _read_index(folder: Traversable) -> tuple[bool, list[_Entry]]:
    where = f"built-in bucket {folder.name}/{INDEX}"
    try:
        index: dict[str, Any] = json.loads(folder.joinpath(INDEX).read_text(encoding="utf-8"))
        entries = [
            _Entry(
                name=o["name"],
                file=o["file"],
                kind=o["kind"],
                content_type=o.get("content_type"),
                project_name=o.get("project_name"),
                tags=tuple(o.get("tags", ())),
            )
            for o in index["objects"]
        ]
        return bool(index.get("public", True)), entries
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidRequestError(f"{where}: unreadable index: {error!r}") from None


def builtin_fetch(reference: TaskReference) -> LibraryObject:
    """A task library object from the built-in buckets shipped with runyard, for references resolved
    without a server (``runyard run``): the shipped content, unversioned."""
    if reference.revision is not None:
        raise UnresolvedReference(f"{reference}: revisions are known only to a server's catalog")
    folder = resources.files("runyard") / "buckets" / reference.bucket
    if folder.joinpath(INDEX).is_file():
        for entry in _read_index(folder)[1]:
            if entry.name == reference.name:
                return LibraryObject(folder.joinpath(entry.file).read_bytes(), None)
    raise UnresolvedReference(
        f"{reference}: no such object among the built-in buckets (a server's catalog resolves the others)"
    )
