"""Engines a service runs on: ``process`` (a supervised local process group), ``docker``, ``singularity``.

Every engine controls a started service through a *reference* (``ref``) stored in the instance's
deployment: the run folder of a process, a container id, a singularity instance name. The server uses
the same calls to stop what a killed instance left running.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from runyard.errors import RunyardError


class RunState(StrEnum):
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    EXITED = "EXITED"  # it ran and stopped (or was stopped)
    MISSING = "MISSING"  # nothing known by this reference


class ServiceError(RunyardError):
    """A service engine could not do what was asked (stop a service, run its container tool...)."""


class ServiceStartError(ServiceError):
    """The service's command could not be started; the message names the command and the reason."""


class Engine(Protocol):
    name: str

    def state(self, ref: str) -> RunState: ...

    def pause(self, ref: str) -> None: ...

    def resume(self, ref: str) -> None: ...

    def stop(self, ref: str) -> None:
        """Stop and remove it; nothing happens when it is already gone."""
        ...

    def logs(self, ref: str, since: float | None = None) -> str:
        """Its output, from ``since`` (epoch seconds) when given."""
        ...


def engine_for(name: str) -> Engine:
    """The engine called ``name`` (``ValueError`` naming the known ones otherwise)."""
    if name == "process":
        from runyard.services.engines.process import ProcessEngine

        return ProcessEngine()
    if name == "docker":
        from runyard.services.engines.docker import DockerEngine

        return DockerEngine()
    if name == "singularity":
        from runyard.services.engines.singularity import SingularityEngine

        return SingularityEngine()
    raise ValueError(f"unknown service engine {name!r} (known: process, docker, singularity)")
