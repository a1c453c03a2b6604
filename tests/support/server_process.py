"""``runyard server`` as a real process, in its own session so a test can kill it and its nodes at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

#: The test servers' services take their ports below the OS's ephemeral range (32768-60999 here), which the
#: kernel hands out meanwhile to servers on port 0 and to outgoing connections (docs/services.md, Ports).
SERVICE_PORTS = "20000-32000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def add_user(data_dir: Path, name: str, password: str) -> None:
    """``runyard user add`` on the data folder of a server not started yet."""
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "runyard",
            "user",
            "add",
            name,
            "--data-dir",
            str(data_dir),
            "--password-stdin",
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert added.returncode == 0, added.stderr


def announced_proxy_url(process: subprocess.Popen[str]) -> str:
    """The base URL of the services' origin that a started server printed (``runyard: service endpoints at
    URL/ ...``; with ``--proxy-port 0`` only the server knows its port)."""
    assert process.stdout is not None
    for line in process.stdout:  # printed before the server answers: already there
        if line.startswith("runyard: service endpoints at "):
            return line.split()[4].rstrip("/")
    raise AssertionError("the server did not say where its service endpoints are")


@contextmanager
def server_process(data_dir: Path, port: int, *extra: str) -> Iterator[subprocess.Popen[str]]:
    process = launch(data_dir, port, *extra)
    try:
        until_up(process, port)
        yield process
    finally:
        stop(process)


def launch(data_dir: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    """``runyard server`` started, not awaited (:func:`until_up`); :func:`stop` ends it."""
    if "--proxy-port" not in extra:  # the services' origin on any free port: never port + 1 of another test
        extra = (*extra, "--proxy-port", "0")
    if "--service-ports" not in extra:
        extra = (*extra, "--service-ports", SERVICE_PORTS)
    return subprocess.Popen(
        [sys.executable, "-m", "runyard", "server", "--port", str(port), "--data-dir", str(data_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its node agents are killed with it below
    )


def until_up(process: subprocess.Popen[str], port: int) -> None:
    """Wait until the server answers its health check; fails with its output if it exits first."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)


def stop(process: subprocess.Popen[str]) -> None:
    """End the server and its nodes (its session)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    if process.stdout:
        process.stdout.close()
