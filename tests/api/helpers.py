"""Waiting for jobs through the API (event streams, no polling where an event exists)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from support.server import wait_for

__all__ = ["EXAMPLES", "HELLO", "wait_for", "wait_until"]

EXAMPLES = Path(__file__).parents[2] / "src" / "runyard" / "examples"
HELLO = (EXAMPLES / "hello.yaml").read_text()


def wait_until(predicate: Callable[[], bool], timeout: float = 30) -> None:
    """For states no event announces on its own (a task IN_ERROR while its job waits)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
