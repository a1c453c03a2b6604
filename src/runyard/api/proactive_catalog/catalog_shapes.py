"""The catalog's JSON as ProActive writes it: ``BucketMetadata`` and ``CatalogObjectMetadata``.

ProActive tells a public bucket by its owner, the group ``GROUP:public-objects``; runyard by a flag. A
public bucket is shown with that owner, a private one with its owner's name. A revision is named by its
commit time in epoch milliseconds (``commit_time_raw``), as ProActive names it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from runyard.auth import User
from runyard.catalog import Bucket, Revision, WorkflowMetadata
from runyard.catalog.access import may_write

PUBLIC_OWNER = "GROUP:public-objects"
"""The owner ProActive gives public buckets (and its default for a new bucket)."""

_PROACTIVE_EXCEPTIONS = "org.ow2.proactive.catalog.service.exception."
BUCKET_NOT_EMPTY = f"{_PROACTIVE_EXCEPTIONS}DeleteNonEmptyBucketException"
OBJECT_EXISTS = f"{_PROACTIVE_EXCEPTIONS}CatalogObjectAlreadyExistingException"
PARSING_FAILED = f"{_PROACTIVE_EXCEPTIONS}ParsingObjectException"
WRONG_PARAMETERS = f"{_PROACTIVE_EXCEPTIONS}WrongParametersException"
REVISION_NOT_FOUND = f"{_PROACTIVE_EXCEPTIONS}RevisionNotFoundException"


def rights(user: User, bucket: Bucket) -> str:
    """ProActive's rights on a bucket: ``admin`` for who may change it (its owner, admins), else ``read``."""
    return "admin" if may_write(user, bucket) else "read"


def bucket_metadata(user: User, bucket: Bucket, object_count: int | None = None) -> dict[str, Any]:
    return {
        "owner": PUBLIC_OWNER if bucket.public else bucket.owner,
        "name": bucket.name,
        "objectCount": bucket.object_count if object_count is None else object_count,
        "rights": rights(user, bucket),
        "tenant": None,
        "links": [],
    }


def commit_time_raw(revision: Revision) -> int:
    """The revision's commit time in epoch milliseconds: how ProActive names a revision."""
    return int(revision.commit_time * 1000)


def object_metadata(
    revision: Revision, catalog_url: str, object_rights: str, *, pinned: bool = False
) -> dict[str, Any]:
    """``CatalogObjectMetadata`` of ``revision``; its links name the revision when ``pinned``, else the
    object's latest content."""
    path = f"buckets/{revision.bucket}/resources/{quote(revision.name, safe='')}"
    if pinned:
        path += f"/revisions/{commit_time_raw(revision)}"
    key_values = object_key_values(revision.metadata)
    return {
        "commit_time_raw": str(commit_time_raw(revision)),
        "kind": revision.kind,
        "bucket_name": revision.bucket,
        "name": revision.name,
        "project_name": revision.project_name or "",
        "tags": ",".join(revision.tags),
        "extension": _extension(revision),
        "commit_time": datetime.fromtimestamp(revision.commit_time).isoformat(timespec="milliseconds"),
        "content_type": revision.content_type,
        "commit_message": revision.commit_message,
        "username": revision.author,
        "object_key_values": key_values,
        "variables_order": variables_order(revision.metadata),
        "rights": object_rights,
        "links": [
            {"rel": "content", "href": f"{catalog_url}/{path}/raw"},
            {"rel": "relative", "href": path},
        ],
    }


def object_key_values(metadata: WorkflowMetadata | None) -> list[dict[str, str]]:
    """What ProActive's WorkflowParser stores of a workflow, as ``{key, value, label}`` entries."""
    if metadata is None:
        return []
    found = [_entry("name", metadata.name, "job_information")]
    if metadata.project_name:
        found.append(_entry("project_name", metadata.project_name, "job_information"))
    if metadata.description:
        found.append(_entry("description", metadata.description, "General"))
    found += [_entry(k, v, "generic_information") for k, v in metadata.generic_information.items()]
    for variable in metadata.variables:
        found.append(_entry(variable.name, variable.value, "variable"))
        for label, value in (
            ("variable_model", variable.model),
            ("variable_description", variable.description),
            ("variable_group", variable.group),
        ):
            if value:
                found.append(_entry(variable.name, value, label))
        found.append(_entry(variable.name, str(variable.advanced).lower(), "variable_advanced"))
        found.append(_entry(variable.name, str(variable.hidden).lower(), "variable_hidden"))
    return found


def variables_order(metadata: WorkflowMetadata | None) -> dict[str, dict[str, dict[str, Any]]]:
    """Variables by group (``""`` first: those of no group), each a ProActive ``JobVariable``."""
    if metadata is None:
        return {}
    groups: dict[str, dict[str, dict[str, Any]]] = {"": {}}
    for variable in metadata.variables:
        groups.setdefault(variable.group or "", {})[variable.name] = {
            "name": variable.name,
            "value": variable.value,
            "model": variable.model,
            "description": variable.description,
            "group": variable.group or "",
            "advanced": variable.advanced,
            "hidden": variable.hidden,
        }
    return {group: found for group, found in groups.items() if found}


def _entry(key: str, value: str, label: str) -> dict[str, str]:
    return {"key": key, "value": value, "label": label}


def _extension(revision: Revision) -> str:
    """The file extension ProActive keeps from the uploaded file's name: runyard keeps no file name, so the
    object's name's, else the one its content type implies for a workflow."""
    _, dot, extension = revision.name.rpartition(".")
    if dot and extension:
        return extension
    if revision.metadata is not None:
        return "xml" if "xml" in revision.content_type else "yaml"
    return ""
