"""Files of a data space (a user space, the global space) written, removed, zipped and unzipped on behalf
of a caller, as ProActive's ``RestDataspace`` does.

These folders are written by users' tasks, so they are hostile ground: every path component is opened
from its folder with ``O_NOFOLLOW`` (a symbolic link never leads out, whatever a task swaps in between),
only regular files are read or written (``O_NONBLOCK``: a FIFO cannot hang the server), an archive's
member names are checked as request paths are (relative, no ``..``), and what an archive or a gzip body
expands to is bounded. A file or folder made here takes the owner of the folder it is made in (tasks run
under their owner's account).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from runyard.api.errors import ApiError
from runyard.api.proactive.common import ILLEGAL_ARGUMENT_EXCEPTION, ProActiveError
from runyard.api.routers import userspace as native

#: Members of an archive unpacked at most (as many as a folder listing shows).
MAX_MEMBERS = native.MAX_ENTRIES
#: Kept in memory while a folder is zipped, beyond that on disk.
SPOOL_BYTES = 16 * 1024 * 1024


def _refused(message: str, status: int = 400) -> ProActiveError:
    return ProActiveError(status, message, ILLEGAL_ARGUMENT_EXCEPTION)


def folder(root: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of the folder ``root/parts``, made where missing, never through a link."""
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
        raise _refused(f"{'/'.join(parts)!r} is not a folder one may write in") from None
    return fd


def _give(parent: int, name: str) -> None:
    """``name`` in ``parent`` gets the parent's owner (when the server may change owners)."""
    if os.geteuid() == 0:
        owner = os.fstat(parent)
        os.chown(name, owner.st_uid, owner.st_gid, dir_fd=parent, follow_symlinks=False)


def write(root: Path, parts: tuple[str, ...], data: bytes) -> None:
    """``data`` as the regular file ``root/parts`` (replaced if it exists), folders on the way made."""
    parent = folder(root, parts[:-1])
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(parts[-1], flags, 0o600, dir_fd=parent)
        except OSError:
            raise _refused(f"{'/'.join(parts)!r} cannot be written (a folder, a link?)") from None
        with os.fdopen(fd, "wb") as file:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise _refused(f"{'/'.join(parts)!r} is not a regular file")
            file.truncate(0)
            file.write(data)
        _give(parent, parts[-1])
    finally:
        os.close(parent)


def remove(root: Path, parts: tuple[str, ...]) -> None:
    """Remove the file or folder ``root/parts`` (nothing there: nothing to do)."""
    if not root.is_dir():
        return
    try:
        parent = native.open_in_space(root, parts[:-1])
    except ApiError:
        return
    try:
        if not stat.S_ISDIR(os.fstat(parent).st_mode):
            return
        try:
            kind = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISDIR(kind):
            shutil.rmtree(parts[-1], dir_fd=parent)  # by descriptors: links inside removed, never followed
        else:
            os.unlink(parts[-1], dir_fd=parent)
    finally:
        os.close(parent)


def listing(fd: int) -> dict[str, list[str]]:
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


def gunzip(data: bytes, limit: int) -> bytes:
    """A gzip (or zlib) body expanded, at most ``limit`` bytes (413 beyond)."""
    inflater = zlib.decompressobj(wbits=47)  # 32 + 15: a gzip or zlib header
    try:
        expanded = inflater.decompress(data, limit)
    except zlib.error as error:
        raise _refused(f"the body is not gzip data: {error}") from None
    if inflater.unconsumed_tail:
        raise _refused(f"the body expands beyond {limit} bytes", 413)
    if not inflater.eof:
        raise _refused("the gzip body is truncated")
    return expanded


def unzip(root: Path, parts: tuple[str, ...], data: bytes, limit: int) -> None:
    """Unpack a zip archive into the folder ``root/parts``: its members' names checked, at most
    ``MAX_MEMBERS`` members and ``limit`` bytes in all (413 beyond)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise _refused(f"the body is not a zip archive: {error}") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise _refused(f"an archive holds at most {MAX_MEMBERS} members", 413)
        left = limit
        for member in members:
            try:
                inside = native.path_parts(member.filename.rstrip("/"))
            except ApiError:
                raise _refused(
                    f"the archive member {member.filename[:255]!r} is not a relative path"
                ) from None
            if member.is_dir():
                os.close(folder(root, parts + inside))
                continue
            with archive.open(member) as source:
                content = source.read(left + 1)
            if len(content) > left:
                raise _refused(f"the archive expands beyond {limit} bytes", 413)
            left -= len(content)
            write(root, parts + inside, content)


def zipped(fd: int) -> IO[bytes]:
    """The regular files under the folder ``fd`` as a zip archive (read from its start); links are
    neither followed nor stored."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (the caller streams it)
    try:
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            for where, _folders, files, at in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
                for name in files:
                    _add(archive, at, name, os.path.normpath(os.path.join(where, name)))
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _add(archive: zipfile.ZipFile, parent: int, name: str, path: str) -> None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=parent)
    except OSError:
        return  # a link, or gone meanwhile
    with os.fdopen(fd, "rb") as source:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            with archive.open(path, "w") as target:
                shutil.copyfileobj(source, target)


def stream(file: IO[bytes]) -> Iterator[bytes]:
    """``file`` by chunks, closed at the end (for a streamed answer)."""
    with file:
        while chunk := file.read(native.CHUNK):
            yield chunk
