"""Ports for services: the range to pick from, a port free right now, waiting for a service to listen."""

from __future__ import annotations

import random
import re
import socket
import time
from collections.abc import Collection

from runyard.errors import InvalidRequestError, RunyardError

#: Linux's default ephemeral range, when /proc does not tell.
DEFAULT_RANGE = (32768, 60999)
_LOCAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
#: Random candidates ``free_port`` tries in a large range before it gives up.
_MAX_TRIES = 1000
_RANGE = re.compile(r"\s*(\d+)\s*(?:-|\s)\s*(\d+)\s*")


class NoFreePortError(RunyardError):
    """Every port tried in the range is taken."""


def parse_port_range(text: str) -> tuple[int, int]:
    """``"20000-20100"`` or ``"20000 20100"`` (the format of ProActive's ``pca_services_port_range``)."""
    match = _RANGE.fullmatch(text)
    if match is None:
        raise InvalidRequestError(f"port range {text!r}: expected 'LOW-HIGH' or 'LOW HIGH', e.g. 20000-20100")
    return _checked((int(match[1]), int(match[2])))


def _checked(ports: tuple[int, int]) -> tuple[int, int]:
    low, high = ports
    if not 1 <= low <= high <= 65535:
        raise InvalidRequestError(f"port range {low}-{high}: ports go from 1 to 65535, the lower first")
    return ports


def port_range(configured: tuple[int, int] | None = None) -> tuple[int, int]:
    """``configured``, else the system's ephemeral range, else ``DEFAULT_RANGE``."""
    if configured is not None:
        return _checked(configured)
    try:
        with open(_LOCAL_RANGE_FILE, encoding="ascii") as file:
            return parse_port_range(file.read())
    except (OSError, InvalidRequestError):
        return DEFAULT_RANGE


_configured_or_system = port_range  # ``free_port``'s parameter hides the name


def free_port(
    taken: Collection[int] = (), port_range: tuple[int, int] | None = None, host: str = "127.0.0.1"
) -> int:
    """A random port of the range, not in ``taken``, that can be bound right now on ``host`` and on all
    interfaces. Another process may take it before the service binds it: callers retry on failure."""
    low, high = _configured_or_system(port_range)
    excluded = set(taken)
    candidates = [port for port in range(low, high + 1) if port not in excluded]
    for port in random.sample(candidates, min(len(candidates), _MAX_TRIES)):
        if _bindable(host, port) and (host == "0.0.0.0" or _bindable("0.0.0.0", port)):
            return port
    raise NoFreePortError(
        f"no free port in {low}-{high} on {host} ({len(excluded)} taken by other services, "
        f"{min(len(candidates), _MAX_TRIES)} tried)"
    )


def _bindable(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:  # SO_REUSEADDR stays off: TIME_WAIT counts
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Return once ``host:port`` accepts a TCP connection; ``TimeoutError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            attempt = max(0.05, min(1.0, deadline - time.monotonic()))
            with socket.create_connection((host, port), timeout=attempt):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"nothing accepts connections on {host}:{port} after {timeout:g} s"
                ) from None
            time.sleep(0.01)  # a start waits on this: a connection attempt on loopback costs ~0.1 ms
