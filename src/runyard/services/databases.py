"""PostgreSQL and MariaDB (the MySQL service), from Debian's packages or runyard's images of them.

On the process engine, each instance has its own data folder, owned by the package's account and made
once: a restarted start task finds it made and only starts the server. The servers listen on 127.0.0.1
only, and their Unix socket is in the instance's folder, so they never meet the machine's own database
servers. On the docker engine, the images make the database at the container's first start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from runyard.services import launch
from runyard.services.commands import as_user, lent_file, reachable_folder, run, service_env, socket_path
from runyard.services.psa import ServiceFailure, Variables

POSTGRESQL_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGRESQL_ACCOUNT = "postgres"
POSTGRESQL_IMAGE = "runyard/postgresql:15"
#: The port PostgreSQL listens on inside its container.
POSTGRESQL_CONTAINER_PORT = 5432
#: How long a started server may take to accept sessions.
READY_TIMEOUT = 60.0
MARIADB_SERVER = "/usr/sbin/mariadbd"
MARIADB_INSTALL = "mariadb-install-db"
MARIADB_ACCOUNT = "mysql"
MARIADB_ADMIN = "mariadb-admin"
MARIADB_IMAGE = "runyard/mariadb:10.11"
#: The port MariaDB listens on inside its container.
MARIADB_CONTAINER_PORT = 3306


# -- PostgreSQL -------------------------------------------------------------------------------------


def start_postgresql(variables: Variables) -> None:
    """The start task of the PostgreSQL service: ``USER`` (``postgres`` when empty), ``PASSWORD``,
    ``DATABASE`` on the engine ``ENGINE`` (``process`` or ``docker``)."""
    user = str(variables.get("USER") or POSTGRESQL_ACCOUNT)
    password = str(variables.get("PASSWORD") or "")
    database = str(variables.get("DATABASE") or "")
    port = launch.service_port(variables)
    if str(variables.get("ENGINE") or "process") == "docker":
        settings = {"POSTGRES_USER": user, "POSTGRES_PASSWORD": password, "POSTGRES_DB": database or user}
        launch.start_container(variables, POSTGRESQL_IMAGE, POSTGRESQL_CONTAINER_PORT, environment=settings)
    else:
        home = launch.service_dir(variables)
        prepare_postgresql(home / "data", user=user, password=password, database=database)
        command = postgresql_command(home / "data", port, home / "socket")
        # SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) would wait for every client to leave.
        launch.start_process(variables, command, env=service_env(), stop_signal=signal.SIGINT)
    wait_for_postgresql(port)


def wait_for_postgresql(port: int, timeout: float = READY_TIMEOUT) -> None:
    """Wait until the server accepts sessions: a container's published port takes connections before
    the server inside (which the image first runs without TCP, to make the cluster) can answer them."""
    probe = [str(POSTGRESQL_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "2"]
    probe += ["-U", POSTGRESQL_ACCOUNT, "-d", "postgres"]  # not the account's name: it may have none
    _wait_for_answer(probe, f"PostgreSQL on port {port} accepts no session", timeout)


def prepare_postgresql(data_dir: Path, *, user: str, password: str, database: str = "") -> None:
    """Make the cluster: superuser ``user`` with ``password`` (asked of every client, scram-sha-256), and
    ``database`` owned by it when given."""
    if (data_dir / "PG_VERSION").exists():
        return
    if not password:
        raise ServiceFailure("PostgreSQL needs a PASSWORD for its superuser")
    home = data_dir.parent
    reachable_folder(data_dir, POSTGRESQL_ACCOUNT)
    with lent_file(data_dir.parent / "initdb-password", POSTGRESQL_ACCOUNT, _one_line(password)) as secret:
        initdb = [str(POSTGRESQL_BIN / "initdb"), "-D", str(data_dir), f"--username={user}"]
        initdb += [f"--pwfile={secret}", "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"]
        run(as_user(POSTGRESQL_ACCOUNT, [*initdb, "--no-sync", "--no-instructions"], home), what="initdb")
    os.sync()  # one sync of everything beats initdb's thousand fsyncs
    if database:
        single = [str(POSTGRESQL_BIN / "postgres"), "--single", "-D", str(data_dir), "-c", "exit_on_error=on"]
        statement = f"CREATE DATABASE {_name(database)} OWNER {_name(user)}\n"
        run(as_user(POSTGRESQL_ACCOUNT, [*single, "postgres"], home), stdin=statement, what="CREATE DATABASE")


def postgresql_command(data_dir: Path, port: int, socket_dir: Path) -> list[str]:
    """The server in the foreground on ``127.0.0.1:port``, its socket in ``socket_dir``."""
    socket_path(socket_dir, f".s.PGSQL.{port}")
    reachable_folder(socket_dir, POSTGRESQL_ACCOUNT)
    server = [str(POSTGRESQL_BIN / "postgres"), "-D", str(data_dir), "-p", str(port), "-k", str(socket_dir)]
    return as_user(POSTGRESQL_ACCOUNT, [*server, "-c", "listen_addresses=127.0.0.1"], socket_dir.parent)


# -- MariaDB ----------------------------------------------------------------------------------------


def start_mariadb(variables: Variables) -> None:
    """The start task of the MySQL service: MariaDB with ``USER``/``PASSWORD`` (both or neither) and
    ``DATABASE`` on the engine ``ENGINE`` (``process`` or ``docker``)."""
    user, password = str(variables.get("USER") or ""), str(variables.get("PASSWORD") or "")
    database = str(variables.get("DATABASE") or "")
    if bool(user) != bool(password):
        raise ServiceFailure("USER and PASSWORD go together: give both or neither")
    port = launch.service_port(variables)
    if str(variables.get("ENGINE") or "process") == "docker":
        settings = {"MARIADB_USER": user, "MARIADB_PASSWORD": password, "MARIADB_DATABASE": database}
        launch.start_container(variables, MARIADB_IMAGE, MARIADB_CONTAINER_PORT, environment=settings)
    else:
        home = launch.service_dir(variables)
        prepare_mariadb(home / "data", user=user, password=password, database=database)
        command = mariadb_command(home / "data", port, home / "socket")
        launch.start_process(variables, command, env=service_env())
    wait_for_mariadb(port)


def wait_for_mariadb(port: int, timeout: float = READY_TIMEOUT) -> None:
    """Wait until the server greets clients (``ping`` succeeds then, even when its login is refused): a
    container's published port takes connections while the image still makes the database."""
    probe = [MARIADB_ADMIN, "--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", str(port)]
    probe += ["--connect-timeout=2", "ping"]
    _wait_for_answer(probe, f"MariaDB on port {port} does not answer", timeout)


def prepare_mariadb(data_dir: Path, *, user: str = "", password: str = "", database: str = "") -> None:
    """Make the data folder: ``root`` only through the socket by the machine's root; ``user`` with
    ``password`` from anywhere, granted everything on ``database`` when given."""
    if (data_dir / "mysql").is_dir():
        return
    home = data_dir.parent
    reachable_folder(data_dir, MARIADB_ACCOUNT)
    where = f"--datadir={data_dir.resolve()}"
    install = [MARIADB_INSTALL, "--no-defaults", where, "--auth-root-authentication-method=socket"]
    run(as_user(MARIADB_ACCOUNT, [*install, "--skip-test-db"], home), what="mariadb-install-db")
    account = f"{_text(user)}@'%'"
    statements = []
    if user:
        statements.append(f"CREATE USER {account} IDENTIFIED BY {_text(password)};")
    if database:
        statements.append(f"CREATE DATABASE {_mariadb_name(database)};")
    if user and database:
        statements.append(f"GRANT ALL ON {_mariadb_name(database)}.* TO {account};")
    if statements:
        bootstrap = [MARIADB_SERVER, "--no-defaults", "--bootstrap", where]
        script = "\n".join(["FLUSH PRIVILEGES;", *statements, ""])  # FLUSH loads the grant tables
        run(as_user(MARIADB_ACCOUNT, bootstrap, home), stdin=script, what="creating the user and database")


def mariadb_command(data_dir: Path, port: int, socket_dir: Path) -> list[str]:
    """The server in the foreground on ``127.0.0.1:port``, its socket in ``socket_dir``."""
    socket = socket_path(socket_dir, "mysqld.sock")
    reachable_folder(socket_dir, MARIADB_ACCOUNT)
    server = [MARIADB_SERVER, "--no-defaults", f"--datadir={data_dir.resolve()}", f"--socket={socket}"]
    network = [f"--port={port}", "--bind-address=127.0.0.1", "--skip-networking=0"]
    pid_file = f"--pid-file={socket_dir / 'mysqld.pid'}"
    return as_user(MARIADB_ACCOUNT, [*server, *network, pid_file], socket_dir.parent)


# -- Both --------------------------------------------------------------------------------------------


def _wait_for_answer(probe: list[str], failure: str, timeout: float) -> None:
    """Run ``probe`` until it succeeds; past ``timeout``, fail with ``failure`` and what it last said."""
    deadline = time.monotonic() + timeout
    while (done := subprocess.run(probe, capture_output=True, text=True, check=False)).returncode != 0:
        if time.monotonic() > deadline:
            said = (done.stdout + done.stderr).strip()
            raise ServiceFailure(f"{failure} after {timeout:g} s" + (f": {said}" if said else ""))
        time.sleep(0.05)  # a start waits on this: as often as pg_ctl -w asks, not less


def _name(value: str) -> str:
    """An SQL identifier (PostgreSQL)."""
    return _quoted(value, '"')


def _mariadb_name(value: str) -> str:
    return _quoted(value, "`")


def _text(value: str) -> str:
    """An SQL string (MariaDB, whose strings also take backslash escapes: refused)."""
    if "\\" in value:
        raise ServiceFailure("names and passwords given to MariaDB may not hold backslashes")
    return _quoted(value, "'")


def _quoted(value: str, quote: str) -> str:
    """``value`` between ``quote`` characters, doubled inside (SQL's escape)."""
    return quote + _one_line(value).replace(quote, quote * 2) + quote


def _one_line(value: str) -> str:
    """Commands read their input line by line: a value must fit on one."""
    if "\n" in value or "\r" in value or "\0" in value:
        raise ServiceFailure("names and passwords may not hold line breaks")
    return value
