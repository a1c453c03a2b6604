"""A user's own user space over HTTP: what their tasks wrote there (ML models, previews, pictures).

The folder is written by the user's tasks, so it is hostile ground: every path component is opened with
``O_NOFOLLOW`` from the folder above it (a symbolic link never leads out, whatever a task swaps in
between), only regular files are read (``O_NONBLOCK``: a FIFO cannot hang the server), and what is served
is sandboxed (``Content-Security-Policy: sandbox``, ``nosniff``): a page a task wrote cannot run script as
the platform's origin.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from runyard.api.deps import PlatformDep
from runyard.api.errors import ApiError
from runyard.api.security import CurrentUser

router = APIRouter(prefix="/userspace", tags=["userspace"])

MAX_PATH = 4096
MAX_DEPTH = 64
MAX_ENTRIES = 10_000
CHUNK = 1 << 20
SANDBOXED = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}


class Entry(BaseModel):
    name: str
    kind: str
    """``file``, ``folder`` or ``other`` (a link, a FIFO: listed, never followed or read)."""
    size: int
    modified: float


class Listing(BaseModel):
    path: str
    entries: list[Entry]
    truncated: bool
    """More than ``MAX_ENTRIES`` entries: the first ones by name are listed."""


@router.get("", response_model=Listing)
def list_root(user: CurrentUser, platform: PlatformDep) -> Listing:
    """The top folder of the caller's user space."""
    return list_folder("", user, platform)


@router.get(
    "/{path:path}",
    response_model=Listing,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "A file, or a folder"}},
)
def get_path(
    path: str,
    user: CurrentUser,
    platform: PlatformDep,
    download: Annotated[bool, Query(description="As an attachment rather than inline")] = False,
) -> Listing | StreamingResponse:
    """A file of the caller's user space (streamed, sandboxed), or a folder's listing (JSON)."""
    parts = path_parts(path)
    root = platform.scheduler.spaces.userspace(user.name)
    fd = open_in_space(root, parts)
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        os.close(fd)
        return list_folder(path, user, platform)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ApiError(400, "invalid_request", f"{path!r} is not a regular file or a folder")
    name = parts[-1]
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    disposition = "attachment" if download else "inline"
    headers = {
        **SANDBOXED,
        "Content-Length": str(info.st_size),
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{_quoted(name)}",
    }
    return StreamingResponse(file_chunks(fd), media_type=media, headers=headers)


def list_folder(path: str, user: CurrentUser, platform: PlatformDep) -> Listing:
    parts = path_parts(path) if path else ()
    root = platform.scheduler.spaces.userspace(user.name)
    if not parts and not root.is_dir():
        return Listing(path="", entries=[], truncated=False)  # nothing written yet
    fd = open_in_space(root, parts)
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            raise ApiError(400, "invalid_request", f"{path!r} is a file, not a folder")
        with os.scandir(fd) as found:  # stat()ed below while ``fd`` is still open
            names = sorted(found, key=lambda e: e.name)
            entries = [_entry(e) for e in names[:MAX_ENTRIES]]
    finally:
        os.close(fd)
    return Listing(path=path, entries=entries, truncated=len(names) > MAX_ENTRIES)


def _entry(entry: os.DirEntry[str]) -> Entry:
    info = entry.stat(follow_symlinks=False)
    kind = "folder" if stat.S_ISDIR(info.st_mode) else "file" if stat.S_ISREG(info.st_mode) else "other"
    return Entry(name=entry.name, kind=kind, size=info.st_size, modified=info.st_mtime)


def path_parts(path: str) -> tuple[str, ...]:
    """The components of a client's path in a space; ``..``, absolute and oversized paths are refused."""
    if len(path) > MAX_PATH or "\x00" in path or "\\" in path:
        raise ApiError(
            400, "invalid_request", "a user space path is at most 4096 characters, with / between names"
        )
    parts = PurePosixPath(path).parts
    relative = parts and parts[0] != "/" and not any(p in (".", "..") for p in path.split("/"))
    if not relative or len(parts) > MAX_DEPTH:
        raise ApiError(400, "invalid_request", f"{path!r} is not a relative path inside the user space")
    return parts


def open_in_space(root: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of ``root/parts``, each component opened from its folder without following a link."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise ApiError(404, "not_found", f"no {'/'.join(parts)!r} in your user space") from None
    try:
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            flags = os.O_RDONLY | os.O_NOFOLLOW | (os.O_NONBLOCK if last else os.O_DIRECTORY)
            following = os.open(part, flags, dir_fd=fd)
            os.close(fd)
            fd = following
    except OSError:
        os.close(fd)
        # A missing name, a link, a file where a folder was expected: all answered alike.
        raise ApiError(404, "not_found", f"no {'/'.join(parts)!r} in your user space") from None
    return fd


def file_chunks(fd: int) -> Iterator[bytes]:
    """The file's content in chunks, closing ``fd`` at the end."""
    with os.fdopen(fd, "rb", closefd=True) as file:
        while chunk := file.read(CHUNK):
            yield chunk


def _quoted(name: str) -> str:
    return quote(name, safe="")
