"""Containers the platform starts for service instances: the policy they pass, and their records.

Reaching a Docker daemon is root on its host (``docker run -v /:/host``), so tasks never reach one: a
service workflow asks the server (``POST /service-instances/{id}/containers``, which
:mod:`runyard.services.launch` calls), and the server starts the container on its own daemon
(``DOCKER_HOST`` of the server) once the request passes the policy:

* the image is on the daemon already (nothing is ever pulled);
* no privileged mode, no added capability, no device, no host namespace, no relaxed security option
  (:mod:`runyard.services.engines.docker` refuses those options and always sets ``no-new-privileges``);
* mounts only of the instance's own folders (``<data>/services/<owner>/<id>-<name>``) and of its owner's
  userspace, named without symbolic links, and pinned (:mod:`runyard.services.mounts`) so that the
  owner cannot swap them for another folder before Docker mounts them;
* published ports only the ports reserved for the instance, on 127.0.0.1;
* memory, process and CPU limits from the server's settings;
* labels ``runyard.instance=<id>`` and ``runyard.owner=<name>``.

The container is then recorded as a deployment of the instance (engine ``docker``, ``ref`` its id) in
the platform's store. Its state, logs, pause, resume and stop are only served for containers recorded
that way for that instance, and carrying its label.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from runyard.auth import User
from runyard.errors import ConflictError, InvalidRequestError, NotFoundError
from runyard.scheduler.specs import Spaces
from runyard.services.automation import ServiceAutomation
from runyard.services.deployments import INSTANCE_LABEL
from runyard.services.engines import RunState
from runyard.services.engines.docker import (
    DockerEngine,
    Limits,
    container_labels,
    parse_options,
    start_container,
)
from runyard.services.instances import ServiceInstance, load_instance, update_instance
from runyard.services.mounts import pinned, staging_root

OWNER_LABEL = "runyard.owner"
ENGINE = "docker"
#: Docker's own rule for container names.
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}")
_MODES = ("ro", "rw")


@dataclass(frozen=True)
class ContainerRequest:
    """What a service workflow asks for (the ``docker run`` it would have typed)."""

    name: str
    image: str
    ports: Mapping[int, int]
    """Container (TCP) port → host port, one of the instance's reserved ports."""
    environment: Mapping[str, str]
    volumes: Mapping[str, str]
    """Host folder → container path, ``/data`` or ``/data:ro``."""
    command: str | Sequence[str] | None = None
    options: str = ""
    """ProActive's ``DOCKER_OPTIONS`` (see :func:`runyard.services.engines.docker.parse_options`)."""


def services_folder(data_dir: Path, owner: str) -> Path:
    """The folder of ``owner``'s services on the server's host (``RUNYARD_SERVICES_DIR`` of their tasks)."""
    return data_dir / "services" / owner


class Containers:
    """The platform's side of service containers; every method checks the user may see the instance."""

    def __init__(self, automation: ServiceAutomation, data_dir: Path, limits: Limits) -> None:
        self.automation = automation
        self.data_dir = data_dir
        self.limits = limits
        self.engine = DockerEngine()

    def start(self, user: User, instance_id: int, request: ContainerRequest) -> dict[str, Any]:
        """Check ``request`` against the policy, start the container, record it; return the deployment."""
        instance = self._running(user, instance_id)
        options = parse_options(request.options)  # the refused options first: their reasons are clearest
        _check_name(request.name)
        _check_ports(instance, request.ports)
        asked = [*request.volumes.items(), *(_split_volume(v) for v in options.volumes)]
        sources = [self._allowed_source(instance, source) for source, _ in asked]
        targets = [_check_target(target) for _, target in asked]
        if not self.engine.has_image(request.image):
            raise InvalidRequestError(
                f"Docker image {request.image!r} is not on the platform's Docker daemon"
            )
        if self.engine.state(request.name) != RunState.MISSING:
            raise ConflictError(f"a Docker container named {request.name!r} exists already: remove it first")
        staging = staging_root(self.data_dir)  # a folder of its own: two starts never share binds
        with pinned(sources, staging) as paths:
            ref = start_container(
                request.name,
                request.image,
                ports=request.ports,
                environment=request.environment,
                volumes={str(path): target for path, target in zip(paths, targets, strict=True)},
                command=request.command,
                options=dataclasses.replace(options, volumes=[]),  # their pinned sources are in volumes
                labels={INSTANCE_LABEL: str(instance.id), OWNER_LABEL: instance.owner},
                limits=self.limits,
            )
        port = next(iter(request.ports.values()), None)
        deployment = {
            "engine": ENGINE,
            "ref": ref,
            "container": {"id": ref, "name": request.name},
            "port": port,
            "node": None,
            "endpoint": None,
            "mounts": [[str(base), list(names)] for base, names in sources],  # to pin again at a restart
            "staging": str(staging),
        }
        try:
            return record_deployment(self.automation, instance_id, deployment)
        except ConflictError:
            self.engine.stop(ref)  # killed meanwhile: its kill did not know this container
            raise

    def state(self, user: User, instance_id: int, ref: str) -> RunState:
        self._recorded(user, instance_id, ref)
        return self.engine.state(ref)

    def logs(self, user: User, instance_id: int, ref: str, since: float | None) -> str:
        self._recorded(user, instance_id, ref)
        return self.engine.logs(ref, since)

    def pause(self, user: User, instance_id: int, ref: str) -> RunState:
        return self._change(self.engine.pause, user, instance_id, ref)

    def resume(self, user: User, instance_id: int, ref: str) -> RunState:
        """Unpause, or start again an exited container: its folders are pinned again for Docker to mount
        them anew (a folder swapped for a link meanwhile is refused)."""
        deployment = self._recorded(user, instance_id, ref)
        if self.engine.state(ref) in (RunState.RUNNING, RunState.PAUSED):
            self.engine.resume(ref)
        else:
            folders = [(Path(base), tuple(names)) for base, names in deployment.get("mounts") or []]
            with pinned(folders, Path(str(deployment["staging"]))):
                self.engine.resume(ref)
        return self.engine.state(ref)

    def stop(self, user: User, instance_id: int, ref: str) -> RunState:
        return self._change(self.engine.stop, user, instance_id, ref)

    # -- inside ----------------------------------------------------------------------------------

    def _change(self, change: Any, user: User, instance_id: int, ref: str) -> RunState:
        self._recorded(user, instance_id, ref)
        change(ref)
        return self.engine.state(ref)

    def _running(self, user: User, instance_id: int) -> ServiceInstance:
        instance = self.automation.instance(user, instance_id)
        if instance.ended:
            raise ConflictError(
                f"service instance {instance_id} is {instance.status}: it starts nothing more"
            )
        return instance

    def _recorded(self, user: User, instance_id: int, ref: str) -> dict[str, Any]:
        """The deployment of ``ref`` when the platform recorded it for the instance (only its records
        carry ``mounts``) and the container carries its label (``NotFoundError`` otherwise)."""
        instance = self.automation.instance(user, instance_id)
        for deployment in instance.deployments:
            if deployment.get("engine") == ENGINE and deployment.get("ref") == ref and "mounts" in deployment:
                labels = container_labels(ref)
                if labels is None or labels.get(INSTANCE_LABEL) == str(instance_id):
                    return deployment
        raise NotFoundError(f"service instance {instance_id} has no container {ref}")

    def _allowed_source(self, instance: ServiceInstance, source: str) -> tuple[Path, tuple[str, ...]]:
        """Where ``source`` lies, as (a folder of the platform's, the names below it), when it is in the
        instance's own folders or its owner's userspace (``InvalidRequestError`` with the reason)."""
        if not source.startswith("/"):
            raise InvalidRequestError(
                f"mount {source!r}: only host folders are mounted (an absolute path), not named volumes"
            )
        path = Path(os.path.normpath(source))
        services, spaces = self.data_dir / "services", Spaces(self.data_dir).userspace(instance.owner).parent
        for base, allowed in (
            (services, lambda names: len(names) > 1 and names[1].startswith(f"{instance.id}-")),
            (spaces, lambda names: len(names) > 0),
        ):
            if base in path.parents:
                names = path.relative_to(base).parts
                if names[0] == instance.owner and allowed(names):
                    return base, names
        raise InvalidRequestError(
            f"mount {source!r} is refused: containers mount only the instance's own folders "
            f"({services_folder(self.data_dir, instance.owner)}/{instance.id}-...) and the owner's "
            f"userspace ({Spaces(self.data_dir).userspace(instance.owner)})"
        )


def record_deployment(
    automation: ServiceAutomation, instance_id: int, deployment: Mapping[str, Any]
) -> dict[str, Any]:
    """Add ``deployment`` (what an engine of the platform started) to the instance's records; numbered
    after those it has. ``ConflictError`` when the instance ended meanwhile. Under the automation's lock,
    as every change of an instance."""
    with automation._lock, automation.platform.engine.begin() as connection:
        instance = load_instance(connection, instance_id)
        if instance.ended:
            raise ConflictError(
                f"service instance {instance_id} is {instance.status}: nothing more is recorded"
            )
        recorded = {**deployment, "id": len(instance.deployments) + 1, "recorded_at": time.time()}
        update_instance(connection, instance_id, deployments=[*instance.deployments, recorded])
    automation.changed(instance_id, ("deployments",))
    return recorded


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidRequestError(
            f"container name {name!r}: give letters, digits, '_', '.' or '-' (a letter or digit first)"
        )


def _check_ports(instance: ServiceInstance, ports: Mapping[int, int]) -> None:
    for inside, outside in ports.items():
        if not 1 <= inside <= 65535:
            raise InvalidRequestError(f"container port {inside} is not a TCP port")
        if outside not in instance.ports:
            raise InvalidRequestError(
                f"host port {outside} is not reserved for service instance {instance.id} "
                f"(reserved: {', '.join(map(str, instance.ports)) or 'none'}; reserve one first)"
            )


def _split_volume(volume: str) -> tuple[str, str]:
    source, _, target = volume.partition(":")
    return source, target


def _check_target(target: str) -> str:
    path, _, mode = target.partition(":")
    if not PurePosixPath(path).is_absolute():
        raise InvalidRequestError(f"mount target {path!r} is not an absolute path of the container")
    if mode and mode not in _MODES:
        raise InvalidRequestError(f"mount mode {mode!r}: give ro or rw")
    return target
