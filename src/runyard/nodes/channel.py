"""Length-prefixed messages over a stream socket: the node source ↔ agent link.

Plain framing rather than ``multiprocessing.connection``: the agent stays small (its size is what
each fork copies) and the payload format (pickle one way, JSON the other) is chosen by the caller.
"""

from __future__ import annotations

import contextlib
import socket
import struct

_HEADER = struct.Struct("!Q")


class Channel:
    """One end of a socket carrying whole messages; ``recv_bytes`` raises ``EOFError`` once closed."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def fileno(self) -> int:
        return self.sock.fileno()

    def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        """Send one message; ``data`` is not copied (its sender may wipe it afterwards)."""
        self.sock.sendall(_HEADER.pack(len(data)))
        self.sock.sendall(data)

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
