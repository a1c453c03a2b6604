"""Host folders given to containers, pinned so that their owner cannot swap them before Docker mounts them.

The folders a service's container may mount belong to its owner, whose tasks may replace one (or a folder
above it) with a symbolic link to ``/`` between the platform's check and Docker's mount, which would give
the container the host's root. So the platform opens each folder one name at a time without following
symbolic links, from a folder of its own that users cannot change, and (when the server runs as root)
binds what it opened onto ``<data>/containers/<random>/<n>``, a folder only root reaches, for
the time Docker takes to start the container; Docker mounts that. A started container keeps its own
mounts, so the binds are undone at once; starting an exited container again pins its folders again, by
their names, which refuses a folder swapped for a link meanwhile. Without root no bind is possible: the
checked path is given to Docker, and a swap in the instant between the check and the start is not
prevented.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

from runyard.errors import InvalidRequestError
from runyard.services.engines import ServiceError

#: A folder to mount: one of the platform's, and the names below it.
Folder = tuple[Path, Sequence[str]]

MS_BIND = 4096
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def staging_root(data_dir: Path) -> Path:
    """A new folder where a container's folders are bound while it starts (Docker's record of the
    container names it: a start of the container again binds them there again)."""
    return data_dir / "containers" / uuid.uuid4().hex


@contextmanager
def pinned(folders: Sequence[Folder], staging: Path) -> Iterator[list[Path]]:
    """The paths Docker is to mount for ``folders`` while in the block (each checked to be a real folder,
    no symbolic link on the way): binds under ``staging`` when this process may mount, undone after."""
    with ExitStack() as undo:
        # Undone last first: each bind goes before its folder, and the folders are removed one by one,
        # never recursively: a removal reaching into a bind still in place would delete the owner's files.
        undo.callback(_remove_folder, staging)
        paths = []
        for number, (base, names) in enumerate(folders):
            descriptor = _open(base, names)
            undo.callback(os.close, descriptor)
            if os.geteuid() != 0:
                paths.append(base.joinpath(*names))
                continue
            target = staging / str(number)
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
            undo.callback(_remove_folder, target)
            _mount(f"/proc/self/fd/{descriptor}", target)
            undo.callback(_umount, target)
            paths.append(target)
        yield paths


def _open(base: Path, names: Sequence[str]) -> int:
    """A descriptor (``O_PATH``) of the folder ``base/names...``, opened without following links."""
    where = base.joinpath(*names)
    try:
        descriptor = os.open(base, os.O_PATH | os.O_DIRECTORY)
    except OSError as error:
        raise InvalidRequestError(f"mount {where}: {base}: {error.strerror}") from None
    try:
        for name in names:
            if name in ("", ".", "..") or "/" in name:
                raise InvalidRequestError(f"mount {where}: give a plain path")
            try:
                opened = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=descriptor)
            except OSError as error:
                raise InvalidRequestError(
                    f"mount {where}: {name!r} is not a folder (symbolic links are not followed): "
                    f"{error.strerror}"
                ) from None
            os.close(descriptor)
            descriptor = opened
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _mount(source: str, target: Path) -> None:
    """Bind ``source`` onto ``target``, private: nothing mounted there spreads to other namespaces."""
    if _libc.mount(source.encode(), str(target).encode(), None, MS_BIND, None) != 0:
        error = ctypes.get_errno()
        raise ServiceError(f"cannot bind {source} onto {target}: {os.strerror(error)}")
    if _libc.mount(None, str(target).encode(), None, MS_PRIVATE, None) != 0:
        error = ctypes.get_errno()
        _umount(target)
        raise ServiceError(f"cannot make {target} private: {os.strerror(error)}")


def _remove_folder(path: Path) -> None:
    """Remove ``path`` if it is an empty folder (a bind not undone leaves it, and its contents, alone)."""
    with contextlib.suppress(OSError):
        path.rmdir()


def _umount(target: Path) -> None:
    if _libc.umount2(str(target).encode(), MNT_DETACH) != 0:
        error = ctypes.get_errno()
        raise ServiceError(f"cannot unmount {target}: {os.strerror(error)}")
