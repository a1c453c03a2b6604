"""The task's connection to its server: a :class:`~runyard.client.Client` made at the first call with
``RUNYARD_URL`` / ``RUNYARD_TOKEN`` (read then: the node sets them around the execution), and what the
task knows of itself (``PA_JOB_ID``, ``PA_TASK_NAME``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runyard.errors import InvalidRequestError

if TYPE_CHECKING:
    from runyard.client import Client


class TaskApiError(InvalidRequestError):
    """A task-side API call cannot be done here; the message says why."""


class TaskConnection:
    def __init__(self, variables: Mapping[str, Any]) -> None:
        self._variables = variables
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            from runyard.client import Client

            url, token = os.environ.get("RUNYARD_URL"), os.environ.get("RUNYARD_TOKEN")
            if not url or not token:
                raise TaskApiError(
                    "no RUNYARD_URL/RUNYARD_TOKEN: the task-side APIs work in tasks run by a runyard server"
                )
            self._client = Client(url, token)
        return self._client

    @property
    def token(self) -> str:
        self.client  # noqa: B018 (checks that there is one)
        return os.environ["RUNYARD_TOKEN"]

    @property
    def job_id(self) -> int:
        return job_number(self._variables.get("PA_JOB_ID"))

    @property
    def task_name(self) -> str | None:
        name = self._variables.get("PA_TASK_NAME")
        return None if name is None else str(name)

    def variable(self, name: str) -> Any:
        return self._variables.get(name)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def job_number(job_id: Any) -> int:
    """A job id as ProActive scripts pass it (``JobId``, ``"12"``, ``12``) → ``12``."""
    text = str(job_id.value() if hasattr(job_id, "value") and callable(job_id.value) else job_id).strip()
    if not text.isdigit():
        raise TaskApiError(f"{job_id!r} is not a job id")
    return int(text)


def seconds(milliseconds: Any) -> float | None:
    """ProActive's timeouts are in milliseconds; ``None``, 0 or less: no timeout."""
    if milliseconds is None:
        return None
    value = float(milliseconds)
    return value / 1000 if value > 0 else None
