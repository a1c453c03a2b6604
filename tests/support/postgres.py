"""A throwaway PostgreSQL cluster for the test suite, started from the server binaries on the machine.

The cluster lives in one directory (``data/``, ``socket/``, ``server.log`` and a ``port`` file), listens
on a free loopback port, and is thrown away by :func:`stop`. TCP clients need the superuser's password
(scram-sha-256), generated at ``initdb`` and kept in ``password`` (0600): the platform's tasks share the
loopback interface with the store and must not get into it (docs/security.md).
``initdb`` refuses to run as root, so as root every server command runs as the ``postgres`` OS user.

This module uses only the standard library so that ``scripts/postgres`` can run it as a script::

    python tests/support/postgres.py start|stop|url [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PREFERRED_VERSION = "15"
SERVER_USER = "postgres"
DEFAULT_DIR = Path(tempfile.gettempdir()) / "runyard-test-postgres"
START_ATTEMPTS = 3
START_TIMEOUT_SECONDS = 60
# Durability is pointless for a throwaway cluster; these settings make DDL-heavy tests much faster.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server cannot be found, initialised or started here."""


@dataclass(frozen=True)
class Cluster:
    """A running throwaway cluster."""

    directory: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database as superuser ``postgres``."""
        return f"postgresql+psycopg://{SERVER_USER}:{self.password}@127.0.0.1:{self.port}/postgres"


def find_bin_dir() -> Path:
    """Directory of ``initdb`` and ``pg_ctl``: ``$RUNYARD_POSTGRES_BIN``, else version 15, else the newest."""
    configured = os.environ.get("RUNYARD_POSTGRES_BIN")
    if configured:
        candidates = [Path(configured)]
    else:
        installed = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
        preferred = Path("/usr/lib/postgresql") / PREFERRED_VERSION / "bin"
        candidates = [preferred, *installed]
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in "
        + ", ".join(str(c) for c in candidates)
        + "; run scripts/setup (installs Debian's postgresql) or set RUNYARD_POSTGRES_BIN"
    )


def start(directory: Path | None = None) -> Cluster:
    """Initialise and start a cluster in ``directory`` (a new temporary one if None).

    Starting a directory whose cluster already runs returns that cluster.
    """
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="runyard-postgres-"))
    elif _is_running(directory):
        return read(directory)
    bin_dir = find_bin_dir()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "socket").mkdir(exist_ok=True)
    if not (directory / "data" / "PG_VERSION").is_file():
        password_file = directory / "password"
        password_file.write_text(secrets.token_hex(24))
        password_file.chmod(0o600)
        _give_to_server_user(directory)
        _run_as_server_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(directory / "data"),
                "--auth-local=peer",
                "--auth-host=scram-sha-256",
                f"--pwfile={password_file}",
                "-U",
                SERVER_USER,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            what="initdb",
        )
    failure = ""
    for _ in range(START_ATTEMPTS):  # another process may take the free port before the server binds it
        port = _free_port()
        options = {**SERVER_SETTINGS, "port": str(port), "unix_socket_directories": str(directory / "socket")}
        try:
            _run_as_server_user(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(directory / "data"),
                    "-l",
                    str(directory / "server.log"),
                    "-w",
                    "-t",
                    str(START_TIMEOUT_SECONDS),
                    "-o",
                    " ".join(f"-c {name}={shlex.quote(value)}" for name, value in options.items()),
                    "start",
                ],
                what="pg_ctl start",
            )
        except PostgresUnavailable as error:
            failure = f"{error}\n{_log_tail(directory)}"
            continue
        (directory / "port").write_text(f"{port}\n")
        return read(directory)
    raise PostgresUnavailable(failure)


def read(directory: Path) -> Cluster:
    """The cluster running in ``directory``."""
    if not _is_running(directory):
        raise PostgresUnavailable(f"no PostgreSQL cluster is running in {directory}")
    password = (directory / "password").read_text().strip()
    return Cluster(directory, int((directory / "port").read_text()), password)


def stop(directory: Path) -> None:
    """Stop the cluster in ``directory`` if it runs, then delete the directory."""
    if _is_running(directory):
        _run_as_server_user(
            [str(find_bin_dir() / "pg_ctl"), "-D", str(directory / "data"), "-m", "fast", "-w", "stop"],
            what="pg_ctl stop",
        )
    shutil.rmtree(directory, ignore_errors=True)


def _is_running(directory: Path) -> bool:
    pid_file = directory / "data" / "postmaster.pid"
    if not pid_file.is_file() or not (directory / "port").is_file():
        return False
    try:
        os.kill(int(pid_file.read_text().split()[0]), 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:  # alive, but owned by another user
        return True
    return True


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in bin_dir.parent.name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_user_ids() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None when we are not root and run it as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root and there is no '{SERVER_USER}' OS user for initdb; "
            "install Debian's postgresql package (scripts/setup does) or create that user"
        ) from None
    return entry.pw_uid, entry.pw_gid


def _give_to_server_user(directory: Path) -> None:
    ids = _server_user_ids()
    if ids is None:
        return
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, *ids)


def _run_as_server_user(command: list[str], what: str) -> None:
    if _server_user_ids() is not None:
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0:
        raise PostgresUnavailable(f"{what} failed (exit {result.returncode}): {result.stderr.strip()}")


def _log_tail(directory: Path, lines: int = 20) -> str:
    log = directory / "server.log"
    if not log.is_file():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/postgres", description="Start, stop or locate the throwaway test PostgreSQL cluster."
    )
    parser.add_argument("command", choices=["start", "stop", "url"])
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(os.environ.get("RUNYARD_POSTGRES_DIR", DEFAULT_DIR)),
        help=f"cluster directory (default: $RUNYARD_POSTGRES_DIR or {DEFAULT_DIR})",
    )
    args = parser.parse_args(argv)
    directory: Path = args.dir.absolute()
    try:
        if args.command == "stop":
            stop(directory)
        else:
            cluster = start(directory) if args.command == "start" else read(directory)
            print(cluster.url)
    except PostgresUnavailable as error:
        print(f"scripts/postgres {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
