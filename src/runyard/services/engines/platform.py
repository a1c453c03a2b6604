"""The engines as a task sees them: containers through the platform, processes on the task's own host.

Tasks never reach a Docker daemon (its socket is root on its host): the ``docker`` engine of a task
asks the server (``/service-instances/{id}/containers/...``), which acts only on the containers it
started for that instance. The ``process`` and ``singularity`` engines run where the task runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from runyard.services.engines import Engine, RunState, engine_for


class ContainerApi(Protocol):
    """The container routes, as the helpers' small client and the SDK both call them."""

    def get_service_container(self, instance_id: int, ref: str) -> Mapping[str, Any]: ...

    def change_service_container(
        self, instance_id: int, ref: str, change: Literal["pause", "resume", "stop"]
    ) -> Mapping[str, Any]: ...

    def get_service_container_logs(self, instance_id: int, ref: str, since: float | None = None) -> str: ...


class PlatformDocker:
    """The containers the platform recorded for one instance, controlled over its REST API."""

    name = "docker"

    def __init__(self, api: ContainerApi, instance_id: int) -> None:
        self.api, self.instance_id = api, instance_id

    def state(self, ref: str) -> RunState:
        return RunState(self.api.get_service_container(self.instance_id, ref)["state"])

    def pause(self, ref: str) -> None:
        self.api.change_service_container(self.instance_id, ref, "pause")

    def resume(self, ref: str) -> None:
        self.api.change_service_container(self.instance_id, ref, "resume")

    def stop(self, ref: str) -> None:
        self.api.change_service_container(self.instance_id, ref, "stop")

    def logs(self, ref: str, since: float | None = None) -> str:
        return self.api.get_service_container_logs(self.instance_id, ref, since)


def task_engine(name: str, api: ContainerApi, instance_id: int) -> Engine:
    """The engine called ``name`` for a task of instance ``instance_id`` (``api`` acts as its job)."""
    return PlatformDocker(api, instance_id) if name == "docker" else engine_for(name)
