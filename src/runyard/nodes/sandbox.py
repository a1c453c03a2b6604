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

_libc = ctypes.CDLL(None, use_errno=True)


def make_undumpable() -> None:
    """``PR_SET_DUMPABLE 0``: this process's ``/proc/<pid>`` files (environment, memory, root) and
    ptrace become root's only, even for processes of the same uid."""
    _call(_libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def prepare_folders(
    account: Account, owned: Iterable[str], shared: Iterable[str], private: Iterable[str]
) -> None:
    """As root, before the sandbox: the platform's folders of the execution (those under a private
    folder; others are left as they are) exist, ``owned`` ones belong to ``account`` alone (0700),
    ``shared`` ones (the global space) are writable by all, sticky (1777)."""
    if os.geteuid() != 0:
        return
    roots = [os.path.realpath(p) for p in private]
    for folders, mode, owner in ((owned, 0o700, account.uid), (shared, 0o1777, 0)):
        for folder in folders:
            if not folder or not _under_any(os.path.realpath(folder), roots):
                continue
            os.makedirs(folder, exist_ok=True)
            status = os.lstat(folder)
            wrong = status.st_uid != owner or stat.S_IMODE(status.st_mode) != mode
            if wrong and stat.S_ISDIR(status.st_mode):
                os.chown(folder, owner, account.gid if owner == account.uid else 0)
                os.chmod(folder, mode)


def enter_sandbox(account: Account, folders: Iterable[str], private: Iterable[str]) -> None:
    """Confine this (single-threaded) process: of the ``private`` folders, only ``folders`` stay
    visible; then it runs as ``account`` (as root) or without capabilities (otherwise)."""
    privileged = os.geteuid() == 0
    if privileged:
        _call(_libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    else:
        _enter_user_namespace()
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    may_traverse = _traversal_check(account) if privileged else None
    _show_only(_existing(folders), _existing(private), platform_paths(), may_traverse)
    if privileged:
        _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "hidepid=invisible")
        os.setgroups(list(account.groups))
        os.setresgid(account.gid, account.gid, account.gid)
        os.setresuid(account.uid, account.uid, account.uid)
    else:
        _drop_capabilities()
    _call(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    os.umask(0o077)
    _clean_environment()
    # Descriptors 1 and 2 write to the agent's log until the execution points them at its own.
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


def _show_only(
    folders: list[str], private: list[str], platform: list[str], may_traverse: Callable[[str], bool] | None
) -> None:
    """Cover each private folder, and each ancestor the account cannot traverse on the way to a
    folder it needs, with a tmpfs where only the needed folders under it are bound back."""
    needed = sorted({*(p for p in platform if not _under_any(p, private)), *folders})
    covers = set(private)
    if may_traverse is not None:
        for path in [*needed, *private]:
            closed = _first_closed(path, may_traverse)
            if closed is not None and not _under_any(closed, private):
                covers.add(closed)
    # Descriptors first: once a folder is covered, its content is reachable only through them.
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
    kept = {
        name: value for name, value in os.environ.items() if name in _KEPT_VARIABLES or name.startswith("LC_")
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
