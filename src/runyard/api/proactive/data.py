"""ProActive's data spaces over REST (``RestDataspace``): ``/rest/data/user/…`` (the caller's user space)
and ``/rest/data/global/…`` (the global space, shared by every user, as in ProActive).

``GET`` a file (its bytes) or a folder with ``?comp=list`` (``ListFile``: its children's names),
``PUT`` a file's bytes (folders on the way made), ``DELETE`` a file or a folder with its content,
``HEAD`` a path's metadata (``x-proactive-ds-type``: ``FILE`` or ``DIRECTORY``).

These folders are written by users' tasks, so they are hostile ground, walked as the native
``GET /api/v1/userspace`` walks them (:mod:`runyard.api.routers.userspace`): each path component is
opened from its folder with ``O_NOFOLLOW``, so no symbolic link leads out; only regular files are read
or written; what is served is sandboxed. A file or folder the server makes takes its folder's owner
(tasks run under their owner's account). Unlike ProActive, a folder is not served as a zip, and
``includes``/``excludes`` are not supported.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import shutil
import stat
from email.utils import formatdate
from pathlib import Path
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from runyard.api.deps import PlatformDep
from runyard.api.errors import ApiError
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

SPACES = ("user", "global")


def _root(platform: Platform, user: User, space: str) -> Path:
    spaces = platform.scheduler.spaces
    if space == "user":
        return spaces.userspace(user.name)
    if space == "global":
        return spaces.globalspace()
    raise ProActiveError(404, f"no data space {space[:32]!r}: user or global")


def _parts(path: str) -> tuple[str, ...]:
    return native._parts(path) if path.strip("/") else ()


def _not_found(space: str, path: str) -> ProActiveError:
    return ProActiveError(404, f"no {path[:255]!r} in the {space} space")


def _open(root: Path, space: str, parts: tuple[str, ...]) -> int:
    """A descriptor of ``root/parts``, opened as the native user space route opens it."""
    try:
        return native._open(root, parts)
    except ApiError:
        raise _not_found(space, "/".join(parts)) from None


def _listing(fd: int) -> dict[str, list[str]]:
    """ProActive's ``ListFile``: the names of a folder's children (links and other oddities left out)."""
    folders, files = [], []
    with os.scandir(fd) as found:
        for entry in found:
            kind = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(kind):
                folders.append(entry.name)
            elif stat.S_ISREG(kind):
                files.append(entry.name)
            if len(folders) + len(files) >= native.MAX_ENTRIES:
                break
    return {
        "directoryListing": sorted(folders),
        "fileListing": sorted(files),
        "fullListing": sorted(folders + files),
    }


@router.get("/{space}/{path:path}")
@router.get("/{space}")
def retrieve(
    space: str,
    user: ProActiveUser,
    platform: PlatformDep,
    path: str = "",
    comp: Annotated[str | None, Query(max_length=32, description="list: a folder's children")] = None,
) -> Any:
    """A file's bytes, or (``comp=list``) a folder's children."""
    root = _root(platform, user, space)
    parts = _parts(path)
    if not parts and not root.is_dir():
        if comp == "list":
            return {"directoryListing": [], "fileListing": [], "fullListing": []}  # nothing written yet
        raise _not_found(space, path)
    fd = _open(root, space, parts)
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        try:
            if comp != "list":
                raise ProActiveError(
                    400, f"{path or '/'} is a folder: add ?comp=list to list it", ILLEGAL_ARGUMENT_EXCEPTION
                )
            return _listing(fd)
        finally:
            os.close(fd)
    if comp is not None or not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if comp is not None:
            raise ProActiveError(
                400, f"comp={comp} lists folders; {path} is a file", ILLEGAL_ARGUMENT_EXCEPTION
            )
        raise ProActiveError(400, f"{path} is not a regular file or a folder", ILLEGAL_ARGUMENT_EXCEPTION)
    headers = {**native.SANDBOXED, "Content-Length": str(info.st_size), "Content-Encoding": "identity"}
    media = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    return StreamingResponse(native._chunks(fd), media_type=media, headers=headers)


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


def _folder(root: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of the folder ``root/parts``, made where missing (each new folder its parent's owner's),
    never through a link."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for part in parts:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o700, dir_fd=fd)
                _give(fd, part)
            following = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = following
    except OSError:
        os.close(fd)
        raise ProActiveError(400, f"{'/'.join(parts)!r} is not a folder one may write in") from None
    return fd


def _give(folder: int, name: str) -> None:
    """``name`` in ``folder`` gets the folder's owner (when the server may change owners)."""
    if os.geteuid() == 0:
        owner = os.fstat(folder)
        os.chown(name, owner.st_uid, owner.st_gid, dir_fd=folder, follow_symlinks=False)


def _store(root: Path, parts: tuple[str, ...], data: bytes) -> None:
    folder = _folder(root, parts[:-1])
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(parts[-1], flags, 0o600, dir_fd=folder)
        except OSError:
            raise ProActiveError(400, f"{'/'.join(parts)!r} cannot be written (a folder, a link?)") from None
        with os.fdopen(fd, "wb") as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ProActiveError(400, f"{'/'.join(parts)!r} is not a regular file")
            file.truncate(0)
            file.write(data)
        _give(folder, parts[-1])
    finally:
        os.close(folder)


@router.put("/{space}/{path:path}", status_code=201)
async def store(
    space: str, path: str, request: Request, user: ProActiveUser, platform: PlatformDep
) -> Response:
    """Write the body as the file at ``path`` (replaced if it exists); 201."""
    root = _root(platform, user, space)
    parts = _parts(path)
    if not parts:
        raise ProActiveError(400, "give the path of the file to write", ILLEGAL_ARGUMENT_EXCEPTION)
    await run_in_threadpool(_store, root, parts, await request.body())
    return Response(status_code=201)


def _delete(root: Path, parts: tuple[str, ...]) -> None:
    if not root.is_dir():
        return
    try:
        folder = native._open(root, parts[:-1])
    except ApiError:
        return  # nothing there: deleted already
    try:
        if not stat.S_ISDIR(os.fstat(folder).st_mode):
            return
        try:
            kind = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISDIR(kind):
            shutil.rmtree(
                parts[-1], dir_fd=folder
            )  # descriptor-based: links inside are removed, not followed
        else:
            os.unlink(parts[-1], dir_fd=folder)
    finally:
        os.close(folder)


@router.delete("/{space}/{path:path}", status_code=204)
def delete(space: str, path: str, user: ProActiveUser, platform: PlatformDep) -> Response:
    """Remove a file, or a folder with its content (204, also when nothing was there)."""
    parts = _parts(path)
    if not parts:
        raise ProActiveError(400, "give the path of the file or folder to delete", ILLEGAL_ARGUMENT_EXCEPTION)
    _delete(_root(platform, user, space), parts)
    return Response(status_code=204)
