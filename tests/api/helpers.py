"""Waiting for jobs through the API (event streams, no polling where an event exists)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

EXAMPLES = Path(__file__).parents[2] / "src" / "runyard" / "examples"
HELLO = (EXAMPLES / "hello.yaml").read_text()


def wait_for(client: httpx.Client, job_id: int, timeout: float = 60) -> dict[str, Any]:
    """The job once it has ended, read after its event stream closed (it closes at the job's end)."""
    with client.stream("GET", f"/jobs/{job_id}/events", timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                json.loads(line[5:])
    job: dict[str, Any] = client.get(f"/jobs/{job_id}").json()
    return job


def wait_until(predicate: Callable[[], bool], timeout: float = 30) -> None:
    """For states no event announces on its own (a task IN_ERROR while its job waits)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
