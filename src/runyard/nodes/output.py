"""Sending everything an execution prints (Python code and child processes alike) to its log file."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


@contextmanager
def output_to(log_path: str) -> Iterator[None]:
    """Point file descriptors 1 and 2 (and ``sys.stdout`` / ``sys.stderr``) at ``log_path``, appending.

    Working on the descriptors is what catches the output of subprocesses too. The previous
    outputs are restored on exit. An empty ``log_path`` leaves the outputs alone.
    """
    if not log_path:
        yield
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    streams = sys.stdout, sys.stderr
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    ours = _text(1), _text(2)
    sys.stdout, sys.stderr = ours
    try:
        yield
    finally:
        for stream in ours:
            stream.close()  # flushes; the descriptor stays open
        sys.stdout, sys.stderr = streams
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


def _text(fd: int) -> TextIO:
    # Line buffered: the log is followed live.
    return open(fd, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
