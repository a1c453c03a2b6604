"""Length-prefixed messages over a stream socket: the node source ↔ agent link.

Plain framing rather than ``multiprocessing.connection``: the agent stays small (its size is what
each fork copies) and the payload format (pickle one way, JSON the other) is chosen by the caller.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
from collections.abc import Sequence

_HEADER = struct.Struct("!Q")


class Channel:
    """One end of a socket carrying whole messages; ``recv_bytes`` raises ``EOFError`` once closed."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def fileno(self) -> int:
        return self.sock.fileno()

    def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Send one message; ``data`` is not copied (its sender may wipe it afterwards)."""
        write_all(self.sock.fileno(), [_HEADER.pack(len(data)), data])

    def recv_bytes(self) -> bytes:
        return bytes(self.recv_buffer())

    def recv_buffer(self) -> bytearray:
        """The next message, received in place into a buffer of its own: no other copy of it is left
        in this process's memory once the caller has wiped the buffer."""
        (size,) = _HEADER.unpack(self._exactly(_HEADER.size))
        buffer = bytearray(size)
        view = memoryview(buffer)
        received = 0
        while received < size:
            count = self.sock.recv_into(view[received:], min(size - received, 1 << 20))
            if not count:
                raise EOFError("channel closed")
            received += count
        return buffer

    def shutdown(self) -> None:
        """Signal end of stream both ways (a reader blocked on either end wakes up with EOF)."""
        with contextlib.suppress(OSError):  # the other end is already gone
            self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.sock.close()

    def _exactly(self, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = self.sock.recv(min(size - len(chunks), 1 << 20))
            if not chunk:
                raise EOFError("channel closed")
            chunks += chunk
        return bytes(chunks)


def write_all(fd: int, buffers: Sequence[bytes | bytearray | memoryview]) -> None:
    """Write ``buffers`` one after the other to the blocking ``fd``, in one system call when they fit
    (one wake-up of the reader, and no joined copy of them left in memory)."""
    views = [memoryview(b).cast("B") for b in buffers if len(b)]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views:
            views[0] = views[0][written:]
