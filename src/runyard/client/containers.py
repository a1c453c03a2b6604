"""Containers of service instances: the platform starts and controls them for the instances' workflows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from runyard.client.documents import ServiceContainer
from runyard.client.transport import Call, json_body, operation, segment, text_body


class ContainersApi:
    @operation
    def start_service_container(
        self,
        instance_id: int,
        name: str,
        image: str,
        *,
        ports: Mapping[int, int] | None = None,
        environment: Mapping[str, str] | None = None,
        volumes: Mapping[str, str] | None = None,
        command: str | Sequence[str] | None = None,
        options: str = "",
    ) -> Call[ServiceContainer]:
        """Have the platform start container ``name`` of the local ``image`` for the instance: ``ports``
        maps container ports to host ports reserved for it, ``volumes`` host folders (its own, or its
        owner's userspace) to container paths, ``options`` is a ``DOCKER_OPTIONS`` string. A request
        the platform's policy refuses raises ``ApiError`` (400) with the reason."""
        body = {
            "name": name,
            "image": image,
            "ports": {str(k): v for k, v in (ports or {}).items()},
            "environment": dict(environment or {}),
            "volumes": dict(volumes or {}),
            "command": command if isinstance(command, str | None) else list(command),
            "options": options,
        }
        return Call("POST", f"{_containers(instance_id)}", json_body, json=body)

    @operation
    def get_service_container(self, instance_id: int, ref: str) -> Call[ServiceContainer]:
        return Call("GET", f"{_containers(instance_id)}/{segment(ref)}", json_body)

    @operation
    def get_service_container_logs(self, instance_id: int, ref: str, since: float | None = None) -> Call[str]:
        """Its stdout and stderr, from ``since`` (epoch seconds) when given."""
        params = {} if since is None else {"since": since}
        return Call("GET", f"{_containers(instance_id)}/{segment(ref)}/logs", text_body, params=params)

    @operation
    def change_service_container(
        self, instance_id: int, ref: str, change: Literal["pause", "resume", "stop"]
    ) -> Call[ServiceContainer]:
        """Pause, resume (or start again once exited) or stop (remove) a container of the instance."""
        return Call("POST", f"{_containers(instance_id)}/{segment(ref)}/{change}", json_body)


def _containers(instance_id: int) -> str:
    return f"/service-instances/{segment(instance_id)}/containers"
