"""A ProActive catalog as its users have it on disk, read for ``runyard catalog import``.

The layout is proactive-examples': a folder per bucket holding ``METADATA.json`` (``catalog.bucket``
names the bucket, ``catalog.objects`` lists each object's ``name``, ``file`` and ``metadata`` with
``kind``, ``contentType``, ``projectName``, ``commitMessage``) and the object files under
``resources/catalog/``. Several folders may fill one bucket (ProActive's ``PcaScripts`` and each
service folder all go to ``service-automation``).

An index that is not JSON (or not shaped as above) refuses the whole import, before anything is
written; an object whose file is missing, lies out of the folder (``../``, an absolute path, a symlink
leading out) or is over :data:`MAX_OBJECT_BYTES` is refused alone, with the reason. Kinds, names and
content types are kept as ProActive has them (runyard's catalog takes any kind; ``Workflow/psa`` and
``Workflow/standard`` are workflows and must parse).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from runyard.catalog.names import check_content_type, check_kind, check_name, check_project_name
from runyard.errors import InvalidRequestError, RunyardError

INDEX = "METADATA.json"
MAX_OBJECT_BYTES = 8 * 1024 * 1024
"""Largest object file imported (the server's own upload limit may be lower)."""
MAX_INDEX_BYTES = 1024 * 1024
"""Largest ``METADATA.json`` read."""
MAX_OBJECTS = 10_000
"""Most objects one import reads."""

T = TypeVar("T")


@dataclass(frozen=True)
class CatalogFile:
    """One object of a ProActive catalog folder, read and checked."""

    bucket: str
    name: str
    kind: str
    content_type: str | None
    project_name: str | None
    commit_message: str
    data: bytes
    path: Path


@dataclass(frozen=True)
class Refused:
    """An object listed in a ``METADATA.json`` that is not imported, and why."""

    bucket: str
    name: str
    reason: str


def read_catalog(root: Path) -> list[CatalogFile | Refused]:
    """Every object under ``root``: a bucket folder itself, or a folder of bucket folders (each with a
    ``METADATA.json``). An object that cannot be read is ``Refused`` with the reason; an index that
    cannot be read raises ``InvalidRequestError`` naming the file and what is wrong."""
    root = root.resolve()
    if not root.is_dir():
        raise InvalidRequestError(f"{root}: not a folder")
    folders = (
        [root] if (root / INDEX).is_file() else sorted(p for p in root.iterdir() if (p / INDEX).is_file())
    )
    if not folders:
        raise InvalidRequestError(f"{root}: no {INDEX} in it nor in its sub-folders: not a ProActive catalog")
    found: list[CatalogFile | Refused] = []
    for folder in folders:
        found += _read_folder(root, folder)
        if len(found) > MAX_OBJECTS:
            raise InvalidRequestError(f"{root}: more than {MAX_OBJECTS} objects")
    seen: dict[tuple[str, str], Path] = {}
    for item in found:
        if isinstance(item, CatalogFile):
            earlier = seen.setdefault((item.bucket, item.name), item.path)
            if earlier != item.path:
                raise InvalidRequestError(
                    f"{item.bucket}/{item.name} is listed twice: {earlier} and {item.path}"
                )
    return found


def _read_folder(root: Path, folder: Path) -> list[CatalogFile | Refused]:
    index_path = _inside(root, folder / INDEX, folder / INDEX)
    index = _index(index_path)
    where = str(index_path)
    catalog = _field(index, "catalog", dict, where)
    bucket = _checked(lambda: check_name("bucket", _field(catalog, "bucket", str, where)), where)
    objects = _field(catalog, "objects", list, where)
    found: list[CatalogFile | Refused] = []
    for number, entry in enumerate(objects):
        at = f"{where}: catalog.objects[{number}]"
        try:
            found.append(_object(root, folder, bucket, entry, at))
        except InvalidRequestError as error:
            name = entry.get("name") if isinstance(entry, dict) else None
            found.append(Refused(bucket, name if isinstance(name, str) else f"#{number}", str(error)))
    return found


def _object(root: Path, folder: Path, bucket: str, entry: object, at: str) -> CatalogFile:
    if not isinstance(entry, dict):
        raise InvalidRequestError(f"{at}: expected an object")
    name = _checked(lambda: check_name("object", _field(entry, "name", str, at)), at)
    metadata = _field(entry, "metadata", dict, at)
    content_type = _optional(metadata, "contentType", at)
    path = _inside(root, folder / _field(entry, "file", str, at), folder / str(entry["file"]))
    return CatalogFile(
        bucket=bucket,
        name=name,
        kind=_checked(lambda: check_kind(_field(metadata, "kind", str, at)), at),
        content_type=content_type and _checked(lambda: check_content_type(content_type), at),
        project_name=_checked(lambda: check_project_name(_optional(metadata, "projectName", at)), at),
        commit_message=(_optional(metadata, "commitMessage", at) or "")[:1000],
        data=_content(path),
        path=path,
    )


def _inside(root: Path, path: Path, shown: Path) -> Path:
    """``path`` with its symlinks resolved, refused unless it lies in ``root`` and is a regular file."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise InvalidRequestError(f"{shown}: leads out of the imported folder {root}")
    if not resolved.is_file():
        raise InvalidRequestError(f"{shown}: no such file")
    return resolved


def _index(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_INDEX_BYTES:
        raise InvalidRequestError(f"{path}: over {MAX_INDEX_BYTES} bytes")
    try:
        index = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequestError(f"{path}: not JSON ({error})") from None
    if not isinstance(index, dict):
        raise InvalidRequestError(f"{path}: expected a JSON object")
    return index


def _content(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_OBJECT_BYTES:
        raise InvalidRequestError(f"{path}: {size} bytes, over the limit of {MAX_OBJECT_BYTES}")
    return path.read_bytes()


def _field(holder: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = holder.get(key)
    if not isinstance(value, kind):
        raise InvalidRequestError(f"{where}: '{key}' should be a {kind.__name__}, not {type(value).__name__}")
    return value


def _optional(holder: dict[str, Any], key: str, where: str) -> str | None:
    return None if holder.get(key) is None else str(_field(holder, key, str, where))


def _checked(check: Callable[[], T], where: str) -> T:
    """What ``check`` returns, its refusal located at ``where``."""
    try:
        return check()
    except RunyardError as error:
        raise InvalidRequestError(f"{where}: {error}") from None
