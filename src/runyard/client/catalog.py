"""The catalog: buckets of objects (workflows, scripts...), each update a new numbered revision."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runyard.client.documents import Bucket, ObjectList, Revision, RevisionDiff
from runyard.client.transport import Call, bytes_body, json_body, no_body, operation, segment


class CatalogApi:
    @operation
    def list_buckets(
        self, *, owner: str | None = None, kind: str | None = None, name: str | None = None
    ) -> Call[list[Bucket]]:
        """Buckets you may read (public ones and yours; all for an admin); ``kind`` keeps those
        holding an object of that kind, ``name`` may hold ``*``."""
        params = _given(owner=owner, kind=kind, name=name)
        return Call("GET", "/catalog/buckets", json_body, params=params)

    @operation
    def get_bucket(self, bucket: str) -> Call[Bucket]:
        return Call("GET", _bucket(bucket), json_body)

    @operation
    def create_bucket(self, bucket: str, *, public: bool = False, owner: str | None = None) -> Call[Bucket]:
        """A new bucket, yours (an admin may give it to ``owner``); ``public`` makes it readable by all."""
        body = {"name": bucket, "public": public, "owner": owner}
        return Call("POST", "/catalog/buckets", json_body, json=body)

    @operation
    def delete_bucket(self, bucket: str, *, force: bool = False) -> Call[None]:
        """A bucket holding objects is refused (409) unless ``force``."""
        return Call("DELETE", _bucket(bucket), no_body, params={"force": str(force).lower()})

    @operation
    def list_objects(
        self,
        bucket: str,
        *,
        kind: str | None = None,
        content_type: str | None = None,
        tag: str | None = None,
        project: str | None = None,
        name: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Call[ObjectList]:
        """The latest revision of each object of the bucket, by name (``kind`` ``Workflow`` includes
        ``Workflow/standard``...)."""
        params = _given(kind=kind, content_type=content_type, tag=tag, project=project, name=name)
        params.update(limit=limit, offset=offset)
        return Call("GET", f"{_bucket(bucket)}/resources", json_body, params=params)

    @operation
    def get_object(self, bucket: str, name: str) -> Call[Revision]:
        """The latest revision's description (``metadata`` holds a workflow's variables, tasks...)."""
        return Call("GET", _object(bucket, name), json_body)

    @operation
    def push_object(
        self,
        bucket: str,
        name: str,
        content: Path | bytes | str,
        *,
        kind: str | None = None,
        commit_message: str = "",
        content_type: str | None = None,
        project_name: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> Call[Revision]:
        """Commit ``content`` (a file, bytes or text) as the next revision of ``bucket/name``, creating
        the object at its first push (then ``kind`` is needed: ``Workflow/standard``, ``Script/task``...).

        What is not given is kept from the latest revision; without a content type the server guesses one.
        """
        data = content.read_bytes() if isinstance(content, Path) else content
        params = _given(kind=kind, project_name=project_name)
        params["commit_message"] = commit_message
        if tags is not None:
            params["tags"] = ",".join(tags)
        headers = {"Content-Type": content_type} if content_type else None
        raw = data.encode("utf-8") if isinstance(data, str) else data
        return Call("PUT", _object(bucket, name), json_body, params=params, content=raw, headers=headers)

    @operation
    def pull_object(self, bucket: str, name: str, revision: int | None = None) -> Call[bytes]:
        """The content of the latest revision, or of ``revision``."""
        path = _object(bucket, name) if revision is None else _revision(bucket, name, revision)
        return Call("GET", f"{path}/raw", bytes_body)

    @operation
    def delete_object(self, bucket: str, name: str) -> Call[None]:
        """Delete the object with every revision."""
        return Call("DELETE", _object(bucket, name), no_body)

    @operation
    def list_revisions(self, bucket: str, name: str) -> Call[list[Revision]]:
        """Every revision of the object, newest first."""
        return Call("GET", f"{_object(bucket, name)}/revisions", json_body)

    @operation
    def get_revision(self, bucket: str, name: str, revision: int) -> Call[Revision]:
        return Call("GET", _revision(bucket, name, revision), json_body)

    @operation
    def diff_revisions(
        self, bucket: str, name: str, from_revision: int | None = None, to_revision: int | None = None
    ) -> Call[RevisionDiff]:
        """Two revisions compared line by line (default: the latest against the one before it)."""
        params = _given(**{"from": from_revision, "to": to_revision})
        return Call("GET", f"{_object(bucket, name)}/diff", json_body, params=params)

    @operation
    def restore_revision(self, bucket: str, name: str, revision: int) -> Call[Revision]:
        """Commit a copy of an old revision as the newest one (history is never rewritten)."""
        return Call("POST", f"{_revision(bucket, name, revision)}/restore", json_body)


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _bucket(bucket: str) -> str:
    return f"/catalog/buckets/{segment(bucket)}"


def _object(bucket: str, name: str) -> str:
    return f"{_bucket(bucket)}/resources/{segment(name)}"


def _revision(bucket: str, name: str, revision: int) -> str:
    return f"{_object(bucket, name)}/revisions/{segment(revision)}"
