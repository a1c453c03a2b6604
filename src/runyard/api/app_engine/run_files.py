"""A run's files over HTTP: multipart provisions received, inputs and outputs served (as
ParameterValues, single files, array items and zips).

Outputs are written by the task's container, hostile code: nothing here follows a symbolic link.
Each path is opened component by component from the run's folder with ``O_NOFOLLOW`` (a link, a
FIFO or a device is not served), folders are walked by descriptor without descending into links.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from runyard.api.limits import BodyTooLarge
from runyard.appengine import provisioning
from runyard.appengine import runs as runs_
from runyard.appengine.descriptor import Descriptor, Parameter
from runyard.appengine.errors import AppEngineError, parameter_error
from runyard.appengine.storage import Storage
from runyard.appengine.types import ArrayType

NOT_MULTIPART = "APPE-internal-not-multipart"
TOO_LARGE = "APPE-internal-request-too-large"
NO_FILE_PARTS = "APPE-internal-no-file-parts"
NO_FILE_BUT_FIELD = "APPE-internal-no-file-but-form-field"
READING = "APPE-storage-reading-file-error"
CHECKSUM = "APPE-internal-checksum-failure"
UPLOADS = "uploads"
CHUNK = 1024 * 1024
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK  # NONBLOCK: a FIFO planted by a task never hangs


# ---------------------------------------------------------------------------------------------------
# Multipart provisions


@asynccontextmanager
async def uploaded(
    request: Request, storage: Storage, max_sidecar: int
) -> AsyncIterator[tuple[Path, bytes | None]]:
    """The first part of the multipart body as a file (in the storage's ``uploads`` folder, removed
    on exit) and the second part's bytes, if any (an image's GeoJSON sidecar). The body is bounded by
    the server's ``app_engine_max_upload_bytes`` (413 past it); the parser spools parts to unnamed files."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/"):
        raise AppEngineError(400, NOT_MULTIPART, "the request is not multipart")
    try:
        form = await request.form(max_files=2, max_fields=2)
    except BodyTooLarge:  # the parser's spooled files are unnamed: nothing is left on disk
        raise AppEngineError(413, TOO_LARGE, "the request body is larger than the server accepts") from None
    try:
        parts = list(form.multi_items())
        if not parts:
            raise AppEngineError(
                400, NO_FILE_PARTS, "the multipart body has no part: the file is its first part"
            )
        first = parts[0][1]
        if not isinstance(first, UploadFile):
            raise AppEngineError(
                400, NO_FILE_BUT_FIELD, "the first part of the body is a form field, not a file"
            )
        sidecar = await _sidecar(parts[1][1], max_sidecar) if len(parts) > 1 else None
        folder = storage.base / UPLOADS
        target = await run_in_threadpool(_spool, first.file, folder)
        try:
            yield target, sidecar
        finally:
            shutil.rmtree(target.parent, ignore_errors=True)
    finally:
        await form.close()


async def _sidecar(part: UploadFile | str, limit: int) -> bytes:
    data = part.encode() if isinstance(part, str) else await part.read(limit + 1)
    if len(data) > limit:
        raise AppEngineError(
            413, "APPE-internal-request-too-large", f"the GeoJSON part is larger than {limit} bytes"
        )
    return data


def _spool(source: IO[bytes], uploads: Path) -> Path:
    """``source`` copied to a file of its own folder under ``uploads`` (a folder: what a dead server
    left there is swept with the bundles' folders, see :mod:`runyard.appengine.tasks`)."""
    uploads.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="provision-", dir=uploads))
    try:
        with open(folder / "file", "xb") as target:
            source.seek(0)
            while chunk := source.read(CHUNK):
                target.write(chunk)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder / "file"


# ---------------------------------------------------------------------------------------------------
# ParameterValues


def input_values(run: runs_.Run, descriptor: Descriptor) -> list[dict[str, Any]]:
    """Cytomine's ParameterValues of the run's provisioned inputs, in the descriptor's order (arrays
    as nested ``[{index, value}]``)."""
    provisions = run["provisions"]
    return [
        _value_out(run["id"], parameter, provisions[name]["value"])
        for name, parameter in descriptor.inputs.items()
        if name in provisions
    ]


def output_values(run: runs_.Run, descriptor: Descriptor) -> list[dict[str, Any]]:
    """The ParameterValues of the run's outputs, as the execution recorded them."""
    outputs = run["outputs"] or {}
    return [
        _value_out(run["id"], parameter, _indexed(outputs[name]))
        for name, parameter in descriptor.outputs.items()
        if name in outputs
    ]


def _value_out(run_id: str, parameter: Parameter, value: Any) -> dict[str, Any]:
    kind = parameter.type
    out: dict[str, Any] = {"taskRunId": run_id, "parameterName": parameter.name, "type": kind.wire_type}
    if isinstance(kind, ArrayType):
        out["subType"] = kind.subtype.wire_type
    out["value"] = None if kind.binary else value
    return out


def _indexed(value: Any) -> Any:
    """An array value in ``[{index, value}]`` form, whether given so or as plain lists."""
    if isinstance(value, list) and not all(
        isinstance(v, dict) and set(v) == {"index", "value"} for v in value
    ):
        return provisioning.indexed(value)
    return value


# ---------------------------------------------------------------------------------------------------
# Single files and array items


def parameter_file(
    storage: Storage,
    run: runs_.Run,
    descriptor: Descriptor,
    name: str,
    *,
    outputs: bool,
    datasets: Path | None = None,
) -> Response:
    """The file of input (output) ``name``; a folder zipped; ``{name}.geojson``: its GeoJSON sidecar.
    An array of dataset references is zipped from the datasets folder (each path checked anew)."""
    sidecar = name.endswith(".geojson")
    parameter = _parameter(descriptor, name.removesuffix(".geojson") if sidecar else name, outputs)
    root = _root(storage, run, outputs)
    if not outputs:
        entry = run["provisions"].get(parameter.name)
        if entry is None:
            raise parameter_error(parameter.name, "the input is not provisioned", READING, 404)
        if entry["reference"] and not sidecar:
            return _references_zip(entry["value"], datasets, parameter.name)
    filename = f"{parameter.name}.geojson" if sidecar else parameter.name
    return _serve(root, [filename], filename, "application/geo+json" if sidecar else None)


def item_file(
    storage: Storage,
    run: runs_.Run,
    descriptor: Descriptor,
    name: str,
    index: str,
    *,
    outputs: bool,
    datasets: Path | None = None,
) -> Response:
    """The item ``index`` (``i`` or ``i/j/…``) of the array input (output) ``name``."""
    item = provisioning.array_item(descriptor, name, index, outputs=outputs)
    parts = [name, *(str(i) for i in item.indexes)]
    if not outputs:
        entry = run["provisions"].get(name)
        if entry is None:
            raise parameter_error(name, "the input is not provisioned", READING, 404)
        if entry["reference"]:
            path = _leaf(entry["value"], item.indexes)
            if not isinstance(path, str):
                raise AppEngineError(404, READING, f"{'/'.join(parts)}: no such item")
            return _serve_dataset(path, datasets, name, "-".join(parts))
    return _serve(_root(storage, run, outputs), parts, "-".join(parts), None)


def _leaf(tree: Any, indexes: tuple[int, ...]) -> Any:
    """The value at ``indexes`` in a ``[{index, value}]`` tree; None when there is none."""
    for position in indexes:
        if not isinstance(tree, list):
            return None
        tree = next((entry["value"] for entry in tree if entry["index"] == position), None)
    return tree


def _dataset_fd(path: str, datasets: Path | None, name: str) -> int:
    """A referenced dataset file opened, its path checked again (it may have changed since)."""
    try:
        resolved = provisioning.dataset_file(path, datasets, name)
        return os.open(resolved, _FILE)
    except (AppEngineError, OSError):
        raise AppEngineError(
            404, READING, f"the referenced dataset file {path} is no longer available"
        ) from None


def _serve_dataset(path: str, datasets: Path | None, name: str, filename: str) -> Response:
    source = os.fdopen(_dataset_fd(path, datasets, name), "rb")
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(_chunks(source), media_type="application/octet-stream", headers=headers)


def _references_zip(tree: list[dict[str, Any]], datasets: Path | None, name: str) -> Response:
    """A referenced array as its folder would be: ``array.yml`` per level and the files, zipped."""
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response)

    def add(writer: zipfile.ZipFile, prefix: str, level: list[dict[str, Any]]) -> None:
        writer.writestr(zipfile.ZipInfo(f"{prefix}/array.yml", (1980, 1, 1, 0, 0, 0)), f"size: {len(level)}")
        for entry in level:
            if isinstance(entry["value"], list):
                add(writer, f"{prefix}/{entry['index']}", entry["value"])
            else:
                with os.fdopen(_dataset_fd(entry["value"], datasets, name), "rb") as source:
                    _add_file(writer, f"{prefix}/{entry['index']}", source, None)

    try:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as writer:
            add(writer, name, tree)
    except BaseException:
        archive.close()
        raise
    return zip_response(archive, f"{name}.zip")


def _parameter(descriptor: Descriptor, name: str, outputs: bool) -> Parameter:
    return (
        provisioning.output_parameter(descriptor, name)
        if outputs
        else provisioning.input_parameter(descriptor, name)
    )


def _root(storage: Storage, run: runs_.Run, outputs: bool) -> Path:
    return storage.run_outputs(run["id"]) if outputs else storage.run_inputs(run["id"])


def _serve(root: Path, parts: list[str], filename: str, media_type: str | None) -> Response:
    opened = _open(root, parts)
    if opened is None:
        raise AppEngineError(404, READING, f"{'/'.join(parts)}: no such file")
    fd, is_dir = opened
    headers = {"Content-Disposition": f'attachment; filename="{filename}{".zip" if is_dir else ""}"'}
    if is_dir:
        archive = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response)
        try:
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as writer:
                _add_folder(writer, fd, "")
        except BaseException:
            archive.close()
            raise
        finally:
            os.close(fd)
        return StreamingResponse(_chunks(archive), media_type="application/zip", headers=headers)
    return StreamingResponse(
        _chunks(os.fdopen(fd, "rb")), media_type=media_type or "application/octet-stream", headers=headers
    )


def _open(root: Path, parts: list[str]) -> tuple[int, bool] | None:
    """``root/parts…`` opened without following a link: (descriptor, is a folder), or None when it is
    absent, a link on the way, or neither a regular file nor a folder."""
    try:
        fd = os.open(root, _DIRECTORY)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            below = os.open(part, _DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = below
        leaf = os.open(parts[-1], _FILE, dir_fd=fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    mode = os.fstat(leaf).st_mode
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return leaf, stat.S_ISDIR(mode)
    os.close(leaf)
    return None


def _add_folder(writer: zipfile.ZipFile, folder_fd: int, prefix: str) -> None:
    """Every regular file under the folder ``folder_fd`` into ``writer`` (links skipped, never followed)."""
    for top, _dirs, names, top_fd in os.fwalk(".", dir_fd=folder_fd):
        relative = os.path.normpath(top)
        for name in sorted(names):
            try:
                fd = os.open(name, _FILE, dir_fd=top_fd)
            except OSError:
                continue  # a link (ELOOP), or gone
            with os.fdopen(fd, "rb") as source:
                if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
                    continue
                arcname = name if relative == "." else f"{relative}/{name}"
                _add_file(writer, f"{prefix}{arcname}", source, None)


def _add_file(writer: zipfile.ZipFile, arcname: str, source: IO[bytes], crc: int | None) -> None:
    """``source`` as the STORED entry ``arcname``; when ``crc`` is given, the file must still have it
    (500 ``APPE-internal-checksum-failure`` otherwise)."""
    info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    computed = 0
    with writer.open(info, "w", force_zip64=True) as target:
        while chunk := source.read(CHUNK):
            computed = zlib.crc32(chunk, computed)
            target.write(chunk)
    if crc is not None and computed != crc:
        raise AppEngineError(500, CHECKSUM, f"{arcname} changed since it was provisioned (CRC32 mismatch)")


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    try:
        source.seek(0)
        while chunk := source.read(CHUNK):
            yield chunk
    finally:
        source.close()


# ---------------------------------------------------------------------------------------------------
# Zips


def inputs_zip(storage: Storage, run: runs_.Run) -> IO[bytes]:
    """The run's provisioned input files as a zip of STORED entries, each checked against the CRC32
    recorded when it was provisioned (references are not in it: they live in the datasets folder)."""
    root = storage.run_inputs(run["id"])
    checksums: dict[str, int] = {}
    for entry in run["provisions"].values():
        checksums.update(entry["checksums"])
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response)
    try:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as writer:
            for path in sorted(checksums):
                opened = _open(root, path.split("/"))
                if opened is None or opened[1]:
                    if opened is not None:
                        os.close(opened[0])
                    raise AppEngineError(500, READING, f"the provisioned input file {path} is missing")
                with os.fdopen(opened[0], "rb") as source:
                    _add_file(writer, path, source, checksums[path])
    except BaseException:
        archive.close()
        raise
    return archive


def outputs_zip(storage: Storage, run: runs_.Run, descriptor: Descriptor) -> IO[bytes]:
    """The files of the run's declared outputs as a zip of STORED entries (links never followed)."""
    root = storage.run_outputs(run["id"])
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response)
    try:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as writer:
            for name in sorted(_recorded(run["outputs"], descriptor.outputs)):
                opened = _open(root, [name])
                if opened is None:
                    continue
                fd, is_dir = opened
                if is_dir:
                    try:
                        _add_folder(writer, fd, f"{name}/")
                    finally:
                        os.close(fd)
                else:
                    with os.fdopen(fd, "rb") as source:
                        _add_file(writer, name, source, None)
    except BaseException:
        archive.close()
        raise
    return archive


def _recorded(outputs: Mapping[str, Any] | None, declared: Mapping[str, Parameter]) -> list[str]:
    return [name for name in (outputs or {}) if name in declared]


def zip_response(archive: IO[bytes], filename: str) -> StreamingResponse:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(_chunks(archive), media_type="application/zip", headers=headers)
