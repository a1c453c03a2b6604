"""Signals of a job: what its tasks are ready for (with the variables each takes), sending one with values,
removing them, waiting for any of a set (what a task's ``signalapi`` does)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

import httpx

from runyard.client.errors import WaitTimeout
from runyard.client.transport import Call, Plan, json_body, operation, segment

WAIT_STEP = 20.0
"""Seconds one request waits on the server (it answers before the SDK's 30 s timeout)."""


class Signal(TypedDict):
    name: str
    status: str
    """``ready`` (a task waits for it) or ``received``."""
    task: str | None
    variables: list[dict[str, Any]]
    """What it takes, as ProActive's ``JobVariable``: ``name``, ``value`` (default), ``model``,
    ``description``, ``group``, ``advanced``, ``hidden``."""
    ready_at: float | None
    sent_at: float | None
    sent_by: str | None
    values: dict[str, str]
    """Once received: the value of each variable."""


class SignalList(TypedDict):
    signals: list[Signal]
    names: list[str]
    """ProActive's set of job signals: ``ready_NAME`` while ready, ``NAME`` once received."""


class SignalsApi:
    @operation
    def list_signals(self, job_id: int) -> Call[SignalList]:
        """The job's signals (``signals``) and ProActive's names for them (``names``)."""
        return Call("GET", _signals(job_id), json_body)

    @operation
    def ready_for_signal(
        self, job_id: int, name: str, variables: Sequence[Mapping[str, Any]] = (), *, task: str | None = None
    ) -> Call[Signal]:
        """Declare the job ready for ``name`` (again, if it was received), taking ``variables`` (each
        ``{"name", "value", "model", "description", "group", "advanced", "hidden"}``)."""
        body = {"variables": [dict(item) for item in variables], "task": task}
        return Call("PUT", f"{_signals(job_id)}/{segment(name)}/ready", json_body, json=body)

    @operation
    def send_signal(self, job_id: int, name: str, variables: Mapping[str, str] | None = None) -> Call[Signal]:
        """Send ``name`` with values for its variables. ``ApiError`` 409 if no task is ready for it, 400 if a
        value does not fit its model (each problem in ``details``)."""
        body = {"variables": {key: str(value) for key, value in (variables or {}).items()}}
        return Call("POST", f"{_signals(job_id)}/{segment(name)}", json_body, json=body)

    @operation
    def remove_signals(self, job_id: int, names: Iterable[str]) -> Call[int]:
        """Remove signals (``ready_NAME``: only while it is ready; ``NAME``: in any state); how many went."""
        params = [("name", name) for name in names]
        return Call("DELETE", _signals(job_id), _removed, params=params)

    @operation
    def received_signals(self, job_id: int, names: Iterable[str], wait: float = 0) -> Call[list[Signal]]:
        """The received signals among ``names`` (first received first); with ``wait``, the server waits up
        to that many seconds (at most 20) for one before answering."""
        params: list[tuple[str, Any]] = [("name", name) for name in names]
        params.append(("timeout", min(max(wait, 0.0), WAIT_STEP)))
        return Call("GET", f"{_signals(job_id)}/received", _received, params=params)

    @operation
    def wait_for_signals(
        self, job_id: int, names: Iterable[str], timeout: float | None = None
    ) -> Plan[Signal]:
        """The first received signal among ``names``, once one is; ``WaitTimeout`` after ``timeout`` s."""
        wanted = list(names)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = WAIT_STEP if deadline is None else deadline - time.monotonic()
            params: list[tuple[str, Any]] = [("name", name) for name in wanted]
            step = max(0.0, min(remaining, WAIT_STEP))
            params.append(("timeout", step))
            path = f"{_signals(job_id)}/received"
            found: list[Signal] = yield Call("GET", path, _received, params=params, held=step)
            if found:
                return found[0]
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(f"none of the signals {wanted} of job {job_id} came within {timeout} s")


def _signals(job_id: int) -> str:
    return f"/jobs/{segment(job_id)}/signals"


def _removed(response: httpx.Response) -> int:
    return int(response.json()["removed"])


def _received(response: httpx.Response) -> list[Signal]:
    found: list[Signal] = response.json()["received"]
    return found
