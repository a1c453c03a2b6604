"""Sending everything an execution prints (Python code and child processes alike) to its log file."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_ENCODING = "utf-8"
_ERRORS = "backslashreplace"


@contextmanager
def output_to(log_path: str) -> Iterator[None]:
    """Point file descriptors 1 and 2 (and ``sys.stdout`` / ``sys.stderr``) at ``log_path``, appending.

    Working on the descriptors is what catches the output of subprocesses too. The previous
    outputs are restored on exit. An empty ``log_path`` leaves the outputs alone. Streams that
    already write to descriptors 1 and 2 as wanted (see ``prepare_standard_streams``) are kept:
    making new ones costs more than the rest of a no-op execution in a forked process.
    """
    if not log_path:
        yield
        return
    log = _open_log(log_path)
    streams = sys.stdout, sys.stderr
    for stream in streams:
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    ours = _stream(sys.stdout, 1), _stream(sys.stderr, 2)
    sys.stdout, sys.stderr = ours
    try:
        yield
    finally:
        for stream, previous in zip(ours, streams, strict=True):
            if stream is previous:
                stream.flush()
            else:
                stream.close()  # flushes; the descriptor stays open
        sys.stdout, sys.stderr = streams
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


def prepare_standard_streams() -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` line buffered UTF-8 (as ``output_to`` wants them), so
    that ``output_to`` keeps them instead of making new ones for every execution."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding=_ENCODING, errors=_ERRORS, line_buffering=True)


def _stream(stream: TextIO, fd: int) -> TextIO:
    """``stream`` if it already writes to ``fd`` as wanted, else a new stream on ``fd``."""
    return stream if _writes_to(stream, fd) else _text(fd)


def _writes_to(stream: TextIO, fd: int) -> bool:
    if not (
        isinstance(stream, io.TextIOWrapper)
        and stream.line_buffering
        and stream.encoding == _ENCODING
        and stream.errors == _ERRORS
    ):
        return False
    try:
        return stream.fileno() == fd
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return False


def _open_log(path: str) -> int:
    """Open for appending; its folder is made only when missing (the first execution of a job)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return os.open(path, flags, 0o644)


def _text(fd: int) -> TextIO:
    # Line buffered: the log is followed live.
    return open(fd, "w", buffering=1, encoding=_ENCODING, errors=_ERRORS, closefd=False)
