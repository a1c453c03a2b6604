"""The task-side APIs, under ProActive's binding names and method names (camelCase, as real scripts call
them): ``schedulerapi``, ``signalapi``, ``synchronizationapi``, ``rmapi``, ``userspaceapi`` and
``globalspaceapi``. See docs/task-apis.md.

They act through the REST API with the task's own credentials (``RUNYARD_URL`` / ``RUNYARD_TOKEN``, the
job token the server gives every task), so a task can do with them only what its job token may. They
are made lazily: building them imports nothing more (no httpx, no client) and opens nothing; the first
call does. A task that never touches them pays nothing, in the node's warm fork or elsewhere.

CPython scripts see the objects as globals. Scripts running in a JVM (Groovy, JavaScript) call their
public methods through the engine's bridge, with JSON arguments and answers; ``taskapi/groovy/<N>.groovy``
adapts binding ``N`` for Groovy (Java types, closures).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runyard.taskapi.connection import TaskApiError, TaskConnection
from runyard.taskapi.dataspaces import DataSpaceApi
from runyard.taskapi.resources import RmApi
from runyard.taskapi.scheduler import SchedulerApi
from runyard.taskapi.signals import SignalApi
from runyard.taskapi.synchronization import SynchronizationApi

NAMES = ("schedulerapi", "signalapi", "synchronizationapi", "rmapi", "userspaceapi", "globalspaceapi")


class TaskApis(dict[str, Any]):
    """The API objects of one task execution by binding name; ``close()`` at its end."""

    def __init__(self, variables: Mapping[str, Any], *, userspace: str = "", globalspace: str = "") -> None:
        """``variables`` is the task's live map (``PA_JOB_ID``, ``PA_TASK_NAME``, ``PCA_INSTANCE_ID``...)."""
        self._connection = TaskConnection(variables)
        super().__init__(
            schedulerapi=SchedulerApi(self._connection),
            signalapi=SignalApi(self._connection),
            synchronizationapi=SynchronizationApi(self._connection),
            rmapi=RmApi(self._connection),
            userspaceapi=DataSpaceApi("userspace", userspace),
            globalspaceapi=DataSpaceApi("globalspace", globalspace),
        )

    def close(self) -> None:
        """Close the connection the first call opened, if any."""
        self._connection.close()


__all__ = ["NAMES", "TaskApiError", "TaskApis"]
