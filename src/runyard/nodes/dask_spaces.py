"""Data spaces for nodes on other hosts (docs/dask.md): the files a task's input selectors name travel
with its run request, and what the task left new or changed in its spaces travels back with its outcome.

Both ways are bounded (bytes and files: a clear error past them) and every relative path is checked on
arrival: it stays inside its space, through no symbolic link, whatever the other side sent.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from runyard.errors import NodeError
from runyard.nodes.accounts import Account
from runyard.nodes.dataspaces import matching_files
from runyard.nodes.protocol import TaskSpec

#: The spaces a task may read files from (``transferFrom…`` / ``cacheFrom…``) and write to.
SPACES = ("userspace", "globalspace", "inputspace", "outputspace")
#: The spaces whose new or changed files go back to the server (the input space is read-only).
WRITABLE = ("userspace", "globalspace", "outputspace")
_INPUT_MODE = re.compile(r"(?:transferFrom|cacheFrom)(User|Global|Input|Output)Space")

Files = dict[str, dict[str, bytes]]
"""Space (``userspace``…) → relative ``/``-separated path → content."""
Snapshot = dict[str, tuple[int, int]]
"""Relative path → (size, mtime in ns) of the regular files of a folder."""


@dataclass(frozen=True)
class Limits:
    """What one execution may carry each way."""

    max_bytes: int = 64 << 20
    """Total size of the files, in bytes."""
    max_files: int = 10_000
    """Number of files."""


class Budget:
    """What is left of an execution's limits, one way."""

    def __init__(self, limits: Limits, what: str) -> None:
        self.limits, self.what = limits, what
        self.bytes = self.files = 0

    def take(self, size: int) -> None:
        self.bytes += size
        self.files += 1
        if self.bytes > self.limits.max_bytes:
            raise NodeError(
                f"{self.what} are over {self.limits.max_bytes} bytes, the node source's limit"
                " (option max_transfer_bytes): use a shared file system (shared_fs) for larger data"
            )
        if self.files > self.limits.max_files:
            raise NodeError(f"{self.what} are over {self.limits.max_files} files, the node source's limit")


def input_files(spec: TaskSpec, limits: Limits) -> Files:
    """The files ``spec``'s input selectors name in its spaces (read on the server): ``NodeError`` past
    ``limits`` or for a file that leads out of its space."""
    budget = Budget(limits, f"the input files of task {spec.task_name}")
    files: Files = {}
    for selector in spec.input_files:
        match = _INPUT_MODE.fullmatch(selector.access_mode)
        space = f"{match.group(1).lower()}space" if match else ""
        folder = getattr(spec, space, "") if space else ""
        if not folder or not Path(folder).is_dir():
            continue  # the node's transfer says what is wrong with the selector
        root = Path(folder).resolve()
        for relative in matching_files(root, selector.includes, selector.excludes):
            if relative in files.get(space, {}):
                continue
            path = root / relative
            if not path.resolve().is_relative_to(root) or not path.is_file():
                raise NodeError(f"{relative} leads out of the {space} of task {spec.task_name}: not sent")
            budget.take(path.stat().st_size)
            files.setdefault(space, {})[relative] = path.read_bytes()
    return files


def snapshot(folder: Path) -> Snapshot:
    """The regular files under ``folder`` (symbolic links neither followed nor listed)."""
    found: Snapshot = {}
    for parent, _, names in os.walk(folder):
        for name in names:
            status = os.lstat(os.path.join(parent, name))
            if stat.S_ISREG(status.st_mode):
                relative = Path(parent, name).relative_to(folder).as_posix()
                found[relative] = (status.st_size, status.st_mtime_ns)
    return found


def changed_files(folder: Path, before: Snapshot, budget: Budget) -> dict[str, bytes]:
    """The regular files under ``folder`` that are new or changed since ``before``."""
    found = {}
    for relative, state in sorted(snapshot(folder).items()):
        if before.get(relative) != state:
            budget.take(state[0])
            found[relative] = (folder / relative).read_bytes()
    return found


def output_budget(limits: Limits, task: str) -> Budget:
    return Budget(limits, f"the files task {task} left in its spaces")


def write_files(folder: Path, files: dict[str, bytes], account: Account | None = None) -> None:
    """Write ``files`` under ``folder``; each path is checked (relative, no ``..``, no symbolic link on
    the way). ``account``: when running as root, what they and the folders made for them belong to."""
    root = folder.resolve()
    for relative, data in files.items():
        target = _inside(root, relative)
        made = _make_parents(root, target.parent)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with open(fd, "wb") as f:
            f.write(data)
            if account is not None and os.geteuid() == 0:
                os.fchown(fd, account.uid, account.gid)
                for path in made:
                    os.chown(path, account.uid, account.gid, follow_symlinks=False)


def _inside(root: Path, relative: str) -> Path:
    path = PurePosixPath(relative)
    if path.is_absolute() or not path.parts or any(p in ("", ".", "..") or "\0" in p for p in path.parts):
        raise NodeError(f"refused file path {relative!r}: it must stay inside its space")
    return root.joinpath(*path.parts)


def _make_parents(root: Path, parent: Path) -> list[Path]:
    """Make the folders from ``root`` down to ``parent``, none of them a symbolic link: those made."""
    made = []
    current = root
    for part in parent.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            raise NodeError(f"refused file path through {current}: a symbolic link")
        if not current.exists():
            current.mkdir()
            made.append(current)
    return made
