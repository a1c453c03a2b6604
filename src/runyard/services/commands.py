"""Running a service's programs under a suitable account, with an environment of their own.

Database servers refuse to run as root (``initdb``, ``postgres``) or should not (``mariadbd``). A task
of a server that runs as root has an unprivileged account of its owner's (possibly without a name); its
services run as that account, owning the data they write in the owner's services folder. A task that
runs as root (no account mapping) switches through ``setpriv`` to the package's own account
(``postgres``, ``mysql``), which must then be able to reach the instance's folder.
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
#: Where Debian's libnss-wrapper may be.
NSS_WRAPPER_LIBRARIES = (
    "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so",
    "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so",
    "/usr/lib64/libnss_wrapper.so",
    "/usr/lib/libnss_wrapper.so",
)


def as_user(user: str, argv: Sequence[str], home: Path) -> list[str]:
    """``argv`` run as ``user`` (its uid, gid and groups) when this process is root; else as this
    process's own account, given a name (files in ``home``) when it has none: ``initdb`` and
    ``postgres --single`` look their account's name up."""
    if os.geteuid() != 0:
        return [*_named_account(home), *argv]
    if user == "root":
        return list(argv)
    setpriv = shutil.which("setpriv") or "setpriv"
    return [setpriv, "--reuid", user, "--regid", _group_of(user), "--init-groups", "--", *argv]


def _named_account(home: Path) -> list[str]:
    """Nothing when this account has a name; else an ``env`` prefix that lends it one through
    nss_wrapper (Debian's ``libnss-wrapper``), as container platforms do for arbitrary uids."""
    uid, gid = os.geteuid(), os.getegid()
    try:
        pwd.getpwuid(uid)
        return []
    except KeyError:
        pass
    library = next((p for p in NSS_WRAPPER_LIBRARIES if Path(p).exists()), None)
    if library is None:
        raise ServiceFailure(
            f"this task's account (uid {uid}) has no name, which PostgreSQL needs: install libnss-wrapper "
            "(Debian) on the node, or give the account an entry in /etc/passwd"
        )
    home.mkdir(parents=True, exist_ok=True)
    passwd, group = home / "passwd", home / "group"
    passwd.write_text(f"runyard:x:{uid}:{gid}:runyard task account:{home}:/bin/false\n", encoding="utf-8")
    group.write_text(f"runyard:x:{gid}:\n", encoding="utf-8")
    return ["env", f"LD_PRELOAD={library}", f"NSS_WRAPPER_PASSWD={passwd}", f"NSS_WRAPPER_GROUP={group}"]


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
        probe = subprocess.run(as_user(user, ["test", "-w", str(path)], path), check=False)
        if probe.returncode != 0:
            raise ServiceFailure(
                f"user {user} cannot reach {path}: a parent folder does not let others traverse it "
                "(run the server's tasks under accounts, or let others traverse the data folder's parents)"
            )
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
