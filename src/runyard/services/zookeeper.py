"""A single ZooKeeper server on the process engine, from Debian's ``zookeeper`` package.

Everything it writes (data, logs) is in the instance's folder, from a ``zoo.cfg`` of its own; it listens
on 127.0.0.1 only, without the admin web server and with the ``ruok`` and ``stat`` four-letter words.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from runyard.services import launch
from runyard.services.commands import service_env
from runyard.services.psa import ServiceFailure, Variables

ZK_SERVER = "/usr/share/zookeeper/bin/zkServer.sh"
ZOOKEEPER_IMAGE = "runyard/zookeeper:3.8"
#: The client port inside its container.
ZOOKEEPER_CONTAINER_PORT = 2181
#: The JVM's heap: its default (a quarter of the memory) is far more than one test server needs.
HEAP = "256m"
READY_TIMEOUT = 30.0
NOT_SERVING = b"This ZooKeeper instance is not currently serving requests"


def start_zookeeper(variables: Variables) -> None:
    """The start task of the Zookeeper service, on the engine ``ENGINE`` (``process`` or ``docker``)."""
    port = launch.service_port(variables)
    if str(variables.get("ENGINE") or "process") == "docker":
        launch.start_container(variables, ZOOKEEPER_IMAGE, ZOOKEEPER_CONTAINER_PORT)
    else:
        home = launch.service_dir(variables)
        command = zookeeper_command(zookeeper_config(home, port))
        launch.start_process(variables, command, env=zookeeper_env(home))
    wait_until_serving(port)


def wait_until_serving(port: int, timeout: float = READY_TIMEOUT) -> None:
    """ZooKeeper accepts connections before it serves them: wait until ``stat`` says it does."""
    deadline = time.monotonic() + timeout
    while (answer := four_letter_word(port, b"stat")).startswith(NOT_SERVING) or not answer:
        if time.monotonic() > deadline:
            raise ServiceFailure(f"ZooKeeper on port {port} does not serve after {timeout:g} s: {answer!r}")
        time.sleep(0.1)


def four_letter_word(port: int, word: bytes) -> bytes:
    """ZooKeeper's answer to ``word`` on ``127.0.0.1:port`` (empty when it cannot be asked)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(word)
            return b"".join(iter(lambda: connection.recv(4096), b""))
    except OSError:
        return b""


def zookeeper_config(folder: Path, port: int) -> Path:
    """Write ``folder/zoo.cfg`` for a standalone server on ``127.0.0.1:port``; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = {
        "tickTime": "2000",
        "dataDir": str((folder / "data").resolve()),
        "clientPort": str(port),
        "clientPortAddress": "127.0.0.1",
        "admin.enableServer": "false",
        "4lw.commands.whitelist": "ruok,stat",
    }
    config = folder / "zoo.cfg"
    config.write_text("".join(f"{key}={value}\n" for key, value in settings.items()), encoding="utf-8")
    return config


def zookeeper_command(config: Path) -> list[str]:
    return [ZK_SERVER, "start-foreground", str(config.resolve())]


def zookeeper_env(folder: Path) -> dict[str, str]:
    """Debian's ``zkEnv.sh`` sets ``ZOO_LOG_DIR`` to /var/log/zookeeper whatever the environment says; the
    JVM flags come after its own, so their ``zookeeper.log.dir`` is the one that counts."""
    logs = (folder / "logs").resolve()
    logs.mkdir(parents=True, exist_ok=True)
    flags = f"-Xmx{HEAP} -Dzookeeper.log.dir={logs} -Dzookeeper.root.logger=INFO,CONSOLE"
    return service_env({"ZOO_LOG_DIR": str(logs), "SERVER_JVMFLAGS": flags, "JMXDISABLE": "true"})
