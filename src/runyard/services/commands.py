"""Running a service's programs as the system account made for them, with an environment of their own.

Database servers refuse to run as root (``initdb``, ``postgres``) or should not (``mariadbd``); the
process engine's tasks often run as root, so their commands go through ``setpriv`` to the package's own
account (``postgres``, ``mysql``), which then owns the data it writes.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from runyard.services.psa import ServiceFailure

#: Unix socket paths longer than this do not fit in ``sockaddr_un`` (108 bytes with the final NUL).
MAX_SOCKET_PATH = 107


def as_user(user: str, argv: Sequence[str]) -> list[str]:
    """``argv`` run as ``user`` (its uid, gid and groups) when this process is root; else unchanged."""
    if os.geteuid() != 0 or user == "root":
        return list(argv)
    setpriv = shutil.which("setpriv") or "setpriv"
    return [setpriv, "--reuid", user, "--regid", _group_of(user), "--init-groups", "--", *argv]


def give_to(path: Path, user: str) -> None:
    """Make ``user`` own ``path`` (a new, still small folder) and what it holds, when we are root."""
    if os.geteuid() != 0:
        return
    owner = pwd.getpwnam(user)
    os.chown(path, owner.pw_uid, owner.pw_gid)
    for folder, folders, files in os.walk(path):
        for name in (*folders, *files):
            os.chown(os.path.join(folder, name), owner.pw_uid, owner.pw_gid)


def reachable_folder(path: Path, user: str) -> Path:
    """Create ``path`` for ``user``; fail clearly when ``user`` cannot reach it (a parent folder without
    ``x`` for others, as pytest's and many home folders are), which the server would only report as a
    vague permission error."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    give_to(path, user)
    if os.geteuid() == 0:
        probe = subprocess.run(as_user(user, ["test", "-w", str(path)]), check=False)
        if probe.returncode != 0:
            raise ServiceFailure(f"user {user} cannot reach {path}: let others traverse its parent folders")
    return path


@contextmanager
def lent_file(path: Path, user: str, text: str) -> Iterator[Path]:
    """``path`` holding ``text`` (a secret: mode 0600) for ``user`` meanwhile; removed afterwards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    try:
        give_to(path, user)
        yield path
    finally:
        path.unlink(missing_ok=True)


def socket_path(folder: Path, name: str) -> Path:
    """``folder/name`` for a Unix socket, refused when too long for one."""
    path = folder / name
    if len(str(path)) > MAX_SOCKET_PATH:
        raise ServiceFailure(
            f"the socket path {path} is longer than {MAX_SOCKET_PATH} bytes: shorten the data folder"
        )
    return path


def service_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A small environment for a service: its programs see neither the task's tokens nor its settings."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **(extra or {})}


def run(argv: Sequence[str], *, stdin: str | None = None, what: str) -> None:
    """Run a preparation command; its output becomes the failure's message when it fails."""
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ServiceFailure(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")


def _group_of(user: str) -> str:
    return str(pwd.getpwnam(user).pw_gid)
