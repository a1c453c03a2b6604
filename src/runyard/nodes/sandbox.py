"""The sandbox a task process enters before any user code runs (docs/security.md).

A few system calls through ``ctypes``, no process started, so that the node agent's warm fork keeps
its speed:

- a mount namespace of its own, in which the platform's private folders (the data folder) are
  covered by an empty tmpfs and only this execution's folders (its spaces, its log folder, its
  owner's services and cache folders) are bound back at their paths;
- folders the task needs (the interpreter, the venv, runyard's source) made reachable where an
  ancestor is closed to the account: a tmpfs on that ancestor recreates only the way to them;
- as root: ``/proc`` mounted anew with ``hidepid=invisible`` (only the account's own processes
  show), then the uid and gid changed to the task's account (every capability goes with root);
- not as root: a user namespace mapping the agent's uid to itself makes the mounts possible, then
  every capability is dropped so that the task cannot undo them;
- ``PR_SET_NO_NEW_PRIVS``: no set-uid program or file capability gives anything back;
- an environment with nothing of the server's: ``PATH``, ``LANG`` and ``LC_*`` only (the execution
  adds ``HOME``, ``TMPDIR`` and what the platform gives it).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import stat
import sys
from collections.abc import Callable, Iterable, Sequence

import runyard
from runyard.nodes.accounts import Account

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_NOEXEC = 0x8
_MS_BIND = 0x1000
_MS_REC = 0x4000
_MS_PRIVATE = 0x40000
_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
_CAPABILITY_VERSION_3 = 0x20080522
#: What a task keeps of its process environment (besides what the platform sets for it).
_KEPT_VARIABLES = ("PATH", "LANG")
#: ... and the variables of this prefix ...
_KEPT_PREFIX = "LC_"
#: ... and, on a node inside a SLURM job (``SLURM_JOB_ID`` set), that job's: it tells its tasks their
#: allocation (``SLURM_JOB_NODELIST``…; docs/slurm.md). A server merely given a ``SLURM_CONF`` keeps it.
_SLURM_PREFIX = "SLURM_"

_libc = ctypes.CDLL(None, use_errno=True)


def make_undumpable() -> None:
    """``PR_SET_DUMPABLE 0``: this process's ``/proc/<pid>`` files (environment, memory, root) and
    ptrace become root's only, even for processes of the same uid."""
    _call(_libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


class Sandbox:
    """The sandbox of one task process, set up in two steps.

    ``Sandbox(private)`` does all that does not depend on the execution (the namespace, the covers,
    ``/proc``): the node agent's spare process does it while it waits for its request, off the path
    from a request to its outcome. ``enter`` then shows the execution's folders and drops the rights.
    Only folders under a private one are bound back; other folders (a job's input space elsewhere)
    are seen as the account sees them anyway.
    """

    def __init__(self, private: Iterable[str]) -> None:
        self.privileged = os.geteuid() == 0
        self.private = {os.path.abspath(p): os.path.realpath(p) for p in private if os.path.isdir(p)}
        if self.privileged:
            _call(_libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        else:
            _enter_user_namespace()
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        # Kept open until ``enter``: once covered, the private folders are reachable only through them
        # (opened in the new namespace: a bind mount's source must be one of its mounts).
        self.roots = {r: os.open(r, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for r in self.private.values()}
        may_traverse = _traversal_check(_OTHERS) if self.privileged else None
        _show_only(list(self.roots), platform_paths(), may_traverse)
        if self.privileged:
            _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "hidepid=invisible")

    def enter(self, account: Account, folders: Iterable[tuple[str, int | None]]) -> None:
        """Bind the execution's ``(folder, mode)`` back in place, then become ``account`` for good.

        A folder with a mode is made if missing and given it: 0700 ones belong to the account,
        others to root (the global space: 1777, writable by all, sticky); one without a mode (a job's
        input space) is bound as it is, if it exists."""
        for folder, mode in folders:
            placed = self._place(folder) if folder else None
            if placed is None:
                continue
            root, relative, target = placed
            if mode is not None:
                self._prepare(account, root, relative, mode)
            try:
                source = os.open(relative, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root)
            except FileNotFoundError:
                continue
            try:
                _bind(source, target)
            finally:
                os.close(source)
        for fd in self.roots.values():
            os.close(fd)
        self.roots.clear()
        _become(account, self.privileged)

    def _place(self, folder: str) -> tuple[int, str, str] | None:
        """(descriptor of its private folder, path from there, path to bind it at), or ``None``."""
        folder = os.path.abspath(folder)
        for given, real in self.private.items():
            for base in (given, real):
                if folder != base and _is_under(folder, base):
                    relative = os.path.relpath(folder, base)
                    return self.roots[real], relative, os.path.join(real, relative)
        return None

    def _prepare(self, account: Account, root: int, relative: str, mode: int) -> None:
        """The folder exists; as root, with ``mode``, and (0700 ones) the account's."""
        path = ""
        for part in relative.split("/"):
            path = os.path.join(path, part)
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, 0o755, dir_fd=root)
        if not self.privileged:
            return
        owner, group = (account.uid, account.gid) if mode == 0o700 else (0, 0)
        status = os.stat(relative, dir_fd=root, follow_symlinks=False)
        if stat.S_ISDIR(status.st_mode) and (status.st_uid, stat.S_IMODE(status.st_mode)) != (owner, mode):
            os.chown(relative, owner, group, dir_fd=root, follow_symlinks=False)
            os.chmod(relative, mode, dir_fd=root)


#: The traversal rights the covers are computed for, ahead of the request: those of an account that
#: owns nothing (a ``runAsMe`` account may reach more; covering what it could reach hides nothing it needs).
_OTHERS = Account(-1, -1)


def _become(account: Account, privileged: bool) -> None:
    if privileged:
        os.setgroups(list(account.groups))
        os.setresgid(account.gid, account.gid, account.gid)
        os.setresuid(account.uid, account.uid, account.uid)
    else:
        _drop_capabilities()
    _call(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    os.umask(0o077)
    _clean_environment()
    # Descriptors 0, 1 and 2 were the agent's (its log) until the execution points 1 and 2 at its own.
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _enter_user_namespace() -> None:
    """A user namespace (with a mount namespace) where this process keeps its uid and gid."""
    uid, gid = os.getuid(), os.getgid()
    _call(_libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS), "unshare(CLONE_NEWUSER | CLONE_NEWNS)")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _show_only(private: list[str], platform: list[str], may_traverse: Callable[[str], bool] | None) -> None:
    """Cover each private folder, and each ancestor the account cannot traverse on the way to the
    installation or to a private folder, with a tmpfs where only what is needed is bound back (or
    made, for a private folder: it is covered next)."""
    needed = sorted(p for p in platform if not _under_any(p, private))
    covers = set(private)
    if may_traverse is not None:
        for path in [*needed, *private]:
            closed = _first_closed(path, may_traverse)
            if closed is not None and not _under_any(closed, private):
                covers.add(closed)
    sources = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in needed}
    try:
        for cover in sorted(covers, key=len):
            deeper = [c for c in covers if c != cover and _is_under(c, cover)]  # covered next
            os.makedirs(cover, exist_ok=True)  # a private folder under a cover made just before
            _mount("tmpfs", cover, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755")
            shown = [n for n in needed if n != cover and _is_under(n, cover) and not _under_any(n, deeper)]
            for path in _outermost(shown):
                _bind(sources[path], path)
    finally:
        for fd in sources.values():
            os.close(fd)


def _bind(source: int, target: str) -> None:
    if stat.S_ISDIR(os.fstat(source).st_mode):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
    _mount(f"/proc/self/fd/{source}", target, None, _MS_BIND | _MS_REC)


def _traversal_check(account: Account) -> Callable[[str], bool]:
    groups = {account.gid, *account.groups}

    def may_traverse(path: str) -> bool:
        status = os.stat(path)
        if status.st_uid == account.uid:
            return bool(status.st_mode & stat.S_IXUSR)
        if status.st_gid in groups:
            return bool(status.st_mode & stat.S_IXGRP)
        return bool(status.st_mode & stat.S_IXOTH)

    return may_traverse


def _first_closed(path: str, may_traverse: Callable[[str], bool]) -> str | None:
    """The first ancestor of ``path``, from ``/`` down, that the account cannot traverse."""
    parts = path.split("/")[1:-1]
    ancestor = ""
    for part in parts:
        ancestor += "/" + part
        if not may_traverse(ancestor):
            return ancestor
    return None


@functools.cache
def platform_paths() -> list[str]:
    """What a task needs of the installation: the interpreter, its library, the venv, runyard.

    Cached: the node agent calls it once, before it forks task processes (``sys.path[0]``, the
    folder the agent was started in, is left out: it may hold anything)."""
    package_root = os.path.dirname(os.path.dirname(runyard.__file__))
    executable = os.path.realpath(sys.executable)
    paths = [sys.prefix, sys.base_prefix, os.path.dirname(sys.executable), os.path.dirname(executable)]
    return _existing([*paths, package_root, *sys.path[1:]])


def _existing(paths: Iterable[str]) -> list[str]:
    return sorted({os.path.realpath(p) for p in paths if p and os.path.exists(p)})


def _outermost(paths: Sequence[str]) -> list[str]:
    """``paths`` without those lying under another of them."""
    unique = sorted(set(paths), key=len)
    kept: list[str] = []
    for path in unique:
        if not _under_any(path, kept):
            kept.append(path)
    return kept


def _is_under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _under_any(path: str, folders: Iterable[str]) -> bool:
    return any(_is_under(path, folder) for folder in folders)


def _clean_environment() -> None:
    prefixes = (_KEPT_PREFIX, _SLURM_PREFIX) if "SLURM_JOB_ID" in os.environ else (_KEPT_PREFIX,)
    kept = {
        name: value
        for name, value in os.environ.items()
        if name in _KEPT_VARIABLES or name.startswith(prefixes)
    }
    os.environ.clear()
    os.environ.update(kept)


class _CapabilityHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapabilityData(ctypes.Structure):
    _fields_ = tuple((name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable"))


def _drop_capabilities() -> None:
    header = _CapabilityHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapabilityData * 2)()  # all zero
    _call(_libc.capset(ctypes.byref(header), data), "capset")


def _mount(source: str | None, target: str, kind: str | None, flags: int, data: str | None = None) -> None:
    def text(value: str | None) -> bytes | None:
        return None if value is None else os.fsencode(value)

    result = _libc.mount(text(source), text(target), text(kind), ctypes.c_ulong(flags), text(data))
    _call(result, f"mount {source or ''} on {target}")


def _call(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")
