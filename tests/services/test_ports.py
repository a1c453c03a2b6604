"""Port ranges, free ports and waiting for a port, with real sockets."""

from __future__ import annotations

import socket
import threading

import pytest

from runyard.errors import InvalidRequestError
from runyard.services.ports import NoFreePortError, free_port, parse_port_range, port_range, wait_for_port


@pytest.mark.parametrize("text", ["20000-20100", "20000 20100", " 20000\t20100\n", "20000 - 20100"])
def test_a_port_range_is_read_in_both_formats(text: str) -> None:
    assert parse_port_range(text) == (20000, 20100)


@pytest.mark.parametrize(
    "text", ["", "20000", "a-b", "20000-20100-20200", "0-10", "20100-20000", "60000-70000"]
)
def test_a_wrong_port_range_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequestError, match="port range"):
        parse_port_range(text)


def test_the_configured_range_comes_first_then_the_system_one() -> None:
    assert port_range((20000, 20001)) == (20000, 20001)
    low, high = port_range()
    assert 1 <= low <= high <= 65535
    with pytest.raises(InvalidRequestError):
        port_range((5, 4))


@pytest.mark.parametrize("address", ["127.0.0.1", "0.0.0.0", "127.0.0.2"])
def test_free_port_avoids_a_port_bound_on_the_host_or_on_any_address(address: str) -> None:
    with socket.socket() as bound:
        bound.bind((address, 0))
        busy = bound.getsockname()[1]
        with pytest.raises(NoFreePortError, match=f"no free port in {busy}-{busy} on 127.0.0.1"):
            free_port(port_range=(busy, busy))


def test_free_port_avoids_taken_ports() -> None:
    port = free_port()
    assert free_port(port_range=(port, port)) == port
    with pytest.raises(NoFreePortError, match="1 taken by other services"):
        free_port(taken=[port], port_range=(port, port))


def test_free_port_can_be_listened_on() -> None:
    port = free_port()
    with socket.create_server(("127.0.0.1", port)):
        pass


def test_wait_for_port_returns_once_something_listens() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    timer = threading.Timer(0.3, server.listen)
    timer.start()
    try:
        wait_for_port("127.0.0.1", port, timeout=3)
    finally:
        timer.join()
        server.close()


def test_wait_for_port_names_what_it_waited_for() -> None:
    with socket.socket() as placeholder:  # bound, never listening: nothing accepts
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
        with pytest.raises(TimeoutError, match=f"127.0.0.1:{port} after 0.3 s"):
            wait_for_port("127.0.0.1", port, timeout=0.3)
