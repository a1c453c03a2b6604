"""ProActive's data spaces over REST (``RestDataspace``): ``/rest/data/user/…`` (the caller's user space)
and ``/rest/data/global/…`` (the global space, shared by every user, as in ProActive).

``GET`` a file (its bytes), a folder (a zip of its files) or a folder's children (``?comp=list``:
``ListFile``); ``PUT`` a file's bytes (``Content-Encoding: gzip`` expanded; ``zip``: an archive unpacked
into the folder ``PATH``, as ProActive's Java client uploads folders); ``DELETE`` a file or a folder with
its content; ``HEAD`` a path's metadata (``x-proactive-ds-type``: ``FILE`` or ``DIRECTORY``). The files
are handled by :mod:`runyard.api.proactive.space_files`, which treats these folders as hostile ground.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from email.utils import formatdate
from pathlib import Path
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from runyard.api.deps import ConfigDep, PlatformDep
from runyard.api.errors import ApiError
from runyard.api.proactive import space_files
from runyard.api.proactive.common import (
    ILLEGAL_ARGUMENT_EXCEPTION,
    ProActiveError,
    ProActiveUser,
    proactive_router,
)
from runyard.api.routers import userspace as native
from runyard.auth import User
from runyard.platform import Platform

router = proactive_router(prefix="/rest/data")

#: What a gzip body or a zip archive may expand to, in request bodies' largest size.
EXPANSION = 4


def _root(platform: Platform, user: User, space: str) -> Path:
    spaces = platform.scheduler.spaces
    if space == "user":
        return spaces.userspace(user.name)
    if space == "global":
        return spaces.globalspace()
    raise ProActiveError(404, f"no data space {space[:32]!r}: user or global")


def _parts(path: str) -> tuple[str, ...]:
    return native.path_parts(path) if path.strip("/") else ()


def _open(root: Path, space: str, parts: tuple[str, ...]) -> int:
    """A descriptor of ``root/parts``, opened as the native user space route opens it."""
    try:
        return native.open_in_space(root, parts)
    except ApiError:
        raise ProActiveError(404, f"no {'/'.join(parts)[:255]!r} in the {space} space") from None


@router.get("/{space}/{path:path}")
@router.get("/{space}")
async def retrieve(
    space: str,
    user: ProActiveUser,
    platform: PlatformDep,
    path: str = "",
    comp: Annotated[str | None, Query(max_length=32, description="list: a folder's children")] = None,
) -> Any:
    """A file's bytes, a folder as a zip archive, or (``comp=list``) a folder's children."""
    root = _root(platform, user, space)
    parts = _parts(path)
    if comp not in (None, "list"):
        raise ProActiveError(400, f"Unknown query parameter: comp={comp}", ILLEGAL_ARGUMENT_EXCEPTION)
    if not parts and not root.is_dir():
        if comp == "list":
            return {"directoryListing": [], "fileListing": [], "fullListing": []}  # nothing written yet
        raise ProActiveError(404, f"the {space} space is empty")
    fd = _open(root, space, parts)
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        try:
            if comp == "list":
                return space_files.listing(fd)
            archive = await run_in_threadpool(space_files.zipped, fd)
        finally:
            os.close(fd)
        headers = {**native.SANDBOXED, "Content-Encoding": "zip"}
        return StreamingResponse(space_files.stream(archive), media_type="application/zip", headers=headers)
    if comp is not None or not stat.S_ISREG(info.st_mode):
        os.close(fd)
        problem = "lists folders" if comp is not None else "serves regular files and folders only"
        raise ProActiveError(400, f"{path}: comp=list {problem}", ILLEGAL_ARGUMENT_EXCEPTION)
    headers = {**native.SANDBOXED, "Content-Length": str(info.st_size), "Content-Encoding": "identity"}
    media = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    return StreamingResponse(native.file_chunks(fd), media_type=media, headers=headers)


@router.head("/{space}/{path:path}")
def metadata(space: str, path: str, user: ProActiveUser, platform: PlatformDep) -> Response:
    """``x-proactive-ds-type`` (``FILE``, ``DIRECTORY``), ``Last-Modified``; a file's type and length."""
    fd = _open(_root(platform, user, space), space, _parts(path))
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    headers = {"Last-Modified": formatdate(info.st_mtime, usegmt=True), "x-proactive-ds-permissions": "rw-"}
    if stat.S_ISDIR(info.st_mode):
        headers["x-proactive-ds-type"] = "DIRECTORY"
    else:
        headers["x-proactive-ds-type"] = "FILE"
        headers["Content-Type"] = mimetypes.guess_type(path)[0] or "application/octet-stream"
        headers["Content-Length"] = str(info.st_size)
    return Response(status_code=200, headers=headers)


@router.put("/{space}/{path:path}", status_code=201)
async def store(
    space: str, path: str, request: Request, user: ProActiveUser, platform: PlatformDep, config: ConfigDep
) -> Response:
    """Write the body as the file at ``path`` (replaced if it exists), or unpack a zip body into the
    folder ``path``; 201."""
    root = _root(platform, user, space)
    parts = _parts(path)
    if not parts:
        raise ProActiveError(400, "give the path to write", ILLEGAL_ARGUMENT_EXCEPTION)
    body = await request.body()
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    limit = EXPANSION * config.max_body_bytes
    if encoding == "zip":
        await run_in_threadpool(space_files.unzip, root, parts, body, limit)
    elif encoding in ("gzip", "identity", ""):
        data = space_files.gunzip(body, limit) if encoding == "gzip" else body
        await run_in_threadpool(space_files.write, root, parts, data)
    else:
        message = f"Content-Encoding {encoding[:32]!r}: identity, gzip or zip"
        raise ProActiveError(400, message, ILLEGAL_ARGUMENT_EXCEPTION)
    return Response(status_code=201)


@router.delete("/{space}/{path:path}", status_code=204)
def delete(space: str, path: str, user: ProActiveUser, platform: PlatformDep) -> Response:
    """Remove a file, or a folder with its content (204, also when nothing was there)."""
    parts = _parts(path)
    if not parts:
        raise ProActiveError(400, "give the path of the file or folder to delete", ILLEGAL_ARGUMENT_EXCEPTION)
    space_files.remove(_root(platform, user, space), parts)
    return Response(status_code=204)
