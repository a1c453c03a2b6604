"""A second host for tests: a network namespace of its own, linked to this one by a veth pair.

``second_host()`` makes the namespace (loopback up, the link's far end at ``address``, this host's end
at ``host_address``, a /30 of 10.123.0.0/16 picked from the process id so that concurrent runs do not
collide), and on exit kills what was started in it and deletes it (which deletes the link). Processes
started with ``Host.popen`` see only that namespace's network: ``address`` is their host's address.
Needs root and iproute2 (``ip``): ``missing()`` otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from support.needs import missing

_ATTEMPTS = 16


@dataclass
class Host:
    """The namespace ``name``; ``address`` is its own, ``host_address`` this host's on the link."""

    name: str
    address: str
    host_address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def command(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def popen(self, argv: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
        """Start ``argv`` in the namespace; it is killed when the namespace goes."""
        process = subprocess.Popen(self.command(argv), **popen)
        self.processes.append(process)
        return process


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True)


@contextlib.contextmanager
def second_host(prefix: str = "ry") -> Iterator[Host]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        missing("a second host needs root and iproute2's ip (network namespaces)")
    host = _make(prefix)
    try:
        yield host
    finally:
        for process in host.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGKILL)
                process.wait()
        subprocess.run(["ip", "netns", "del", host.name], capture_output=True)


def _make(prefix: str) -> Host:
    """A namespace on the first free /30 from the one the process id picks."""
    for attempt in range(_ATTEMPTS):
        number = (os.getpid() + attempt) % 16384
        name = f"{prefix}{number}"
        subnet = f"10.123.{number // 64}.{(number % 64) * 4}"
        base = subnet.rsplit(".", 1)[0] + "."
        last = int(subnet.rsplit(".", 1)[1])
        near, far = f"{base}{last + 1}", f"{base}{last + 2}"
        try:
            _ip("netns", "add", name)
        except subprocess.CalledProcessError:
            continue  # taken by another run
        try:
            _ip("link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b", "netns", name)
            _ip("addr", "add", f"{near}/30", "dev", f"{name}a")
            _ip("link", "set", f"{name}a", "up")
            _ip("-n", name, "addr", "add", f"{far}/30", "dev", f"{name}b")
            _ip("-n", name, "link", "set", f"{name}b", "up")
            _ip("-n", name, "link", "set", "lo", "up")
        except subprocess.CalledProcessError as error:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
            subprocess.run(["ip", "link", "del", f"{name}a"], capture_output=True)
            if attempt == _ATTEMPTS - 1:
                raise RuntimeError(f"cannot link a network namespace: {error.stderr!r}") from None
            continue
        return Host(name, far, near)
    raise RuntimeError("no free network namespace name")
