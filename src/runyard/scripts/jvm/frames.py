"""Frames between a task process and the JVM: a 4-byte big-endian length, a kind byte (``J`` JSON,
``O`` standard output, ``E`` standard error), the payload."""

from __future__ import annotations

import socket
import struct

_SIZE = struct.Struct("!I")


def send_frame(client: socket.socket, kind: bytes, payload: bytes) -> None:
    client.sendall(_SIZE.pack(len(payload) + 1) + kind + payload)


def receive_frame(client: socket.socket) -> tuple[bytes, bytes] | None:
    """The next frame's kind and payload; ``None`` when the JVM closed the connection (or went)."""
    try:
        header = _exactly(client, _SIZE.size)
        body = None if header is None else _exactly(client, _SIZE.unpack(header)[0])
    except ConnectionResetError:
        return None
    return None if not body else (body[:1], body[1:])


def _exactly(client: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = client.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)
