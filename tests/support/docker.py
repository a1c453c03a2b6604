"""A Docker daemon with runyard's images for the tests that need one.

``scripts/test`` starts a throwaway daemon for its run, builds the images and sets ``DOCKER_HOST``; that
daemon is used as is. Otherwise the first test that needs Docker starts one with ``scripts/docker`` in
``$XDG_CACHE_HOME/runyard/docker``, where images stay built from one run to the next. Every pytest
session (each xdist worker is one) holds a shared lock on that folder while it uses the daemon, and the
last one to finish stops it. Outside CI, a machine without ``dockerd`` or root skips these tests; under
``CI=true`` they fail instead, and ``scripts/docker`` installs Debian's docker.io when it is missing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, TextIO

from support.needs import missing, under_ci

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "docker"
#: Building the images from nothing takes four to five minutes; far longer means something hangs.
SCRIPT_TIMEOUT = 900


def cache_dir() -> Path:
    """The folder of the daemon that local runs share (its images included)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "runyard" / "docker"


@contextmanager
def docker_daemon(images: Sequence[str]) -> Iterator[str]:
    """Yield the ``DOCKER_HOST`` of a daemon that has the images of ``images/<name>`` for each name.

    ``DOCKER_HOST`` is set in this process's environment meanwhile, for the engine and what it starts.
    """
    given = os.environ.get("DOCKER_HOST")
    if given:
        _build(images)
        yield given
        return
    _require_dockerd()
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "start.lock", "w") as start_lock, open(directory / "users.lock", "w") as users:
        fcntl.flock(start_lock, fcntl.LOCK_EX)
        try:
            host = _script("start", "--dir", str(directory))
            fcntl.flock(users, fcntl.LOCK_SH)
        finally:
            fcntl.flock(start_lock, fcntl.LOCK_UN)
        os.environ["DOCKER_HOST"] = host
        try:
            _build(images)
            yield host
        finally:
            del os.environ["DOCKER_HOST"]
            _leave(directory, start_lock, users)


def _build(images: Sequence[str]) -> None:
    """The images of ``images`` built (waiting for a build under way); none asked, nothing waited for
    (``scripts/docker images`` with no name builds them all: the App Engine's tests load their own)."""
    if images:
        _script("images", *images)


def _leave(directory: Path, start_lock: TextIO, users: TextIO) -> None:
    """Drop this session's use of the daemon; stop the daemon when no other session uses it."""
    fcntl.flock(start_lock, fcntl.LOCK_EX)
    try:
        fcntl.flock(users, fcntl.LOCK_UN)
        try:
            fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another session still uses it
        _script("stop", "--dir", str(directory))
    finally:
        fcntl.flock(start_lock, fcntl.LOCK_UN)


def _require_dockerd() -> None:
    if under_ci():
        return
    if shutil.which("dockerd") is None and not Path("/usr/sbin/dockerd").exists():
        _unavailable("dockerd is not installed (Debian's docker.io; `scripts/docker start` installs it)")
    if os.geteuid() != 0:
        _unavailable("dockerd needs root to start")


def _script(*arguments: str) -> str:
    done = subprocess.run(
        ["bash", str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        _unavailable(f"scripts/docker {' '.join(arguments)} failed (exit {done.returncode}):\n{done.stderr}")
    return done.stdout.strip()


def _unavailable(reason: str) -> NoReturn:
    """Stop a test that needs Docker: fail under CI (it must run there), skip elsewhere."""
    missing(f"Docker is needed and not available: {reason}")
