"""Deployments as the platform records them: what a workflow claims is checked before it is stored.

A service workflow reports what it started (``PATCH /service-instances/{id}``), but the request comes from
user code: the server records a deployment only once it has checked the claim against what it sees
itself, and it only ever signals or fetches what it recorded.

- **process**: the run folder lies in the instance's own services folder (``<services_dir>[/<owner>]/
  <id>-<name>/…``); the supervisor named in the engine's ``state.json`` there is alive, works in that
  folder and runs as the folder's OS account; the service is the leader of its group in the supervisor's
  session. The pids and start times checked are recorded with the deployment (``process``): a kill signals
  those, never what the state file (which the owner's tasks may rewrite) says later.
- **docker**: the platform starts containers itself (:mod:`runyard.services.containers`) and records
  them; a workflow may only report again a container recorded that way for the instance. Before a kill
  removes it, the server checks it still carries the label ``runyard.instance=<id>`` the platform set.
- **endpoint**: on IPv4 loopback or the host of a node running one of the instance's tasks, on a port
  reserved for the instance (``/ports``); the proxy checks again that the port is still reserved.

Other engines (singularity) cannot be checked from the server and are refused.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from runyard.errors import InvalidRequestError
from runyard.services.engines import ServiceError
from runyard.services.engines.supervisor import (
    live_stat,
    proc_stat,
    read_state,
)

INSTANCE_LABEL = "runyard.instance"
"""Docker label the platform sets on the containers it starts for an instance (its id)."""
_FIELDS = frozenset({"id", "node", "container", "endpoint", "engine", "ref", "port"})


@dataclass(frozen=True)
class Scope:
    """What belongs to one instance: claims are checked against it."""

    instance_id: int
    owner: str
    services_dir: Path
    ports: frozenset[int]
    hosts: frozenset[str]
    """Hosts of the nodes running the instance's tasks now (loopback is always allowed)."""
    containers: frozenset[str]
    """Ids of the containers the platform recorded for the instance."""


def recorded(data: Any, number: int, scope: Scope) -> dict[str, Any]:
    """The deployment to store for the claim ``data`` (``InvalidRequestError`` with the reason when the
    platform cannot confirm it belongs to the instance)."""
    if not isinstance(data, Mapping):
        raise InvalidRequestError("a deployment is a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise InvalidRequestError(
            f"unknown deployment fields {', '.join(unknown)} (known: {', '.join(sorted(_FIELDS))})"
        )
    deployment = {**dict(data), "id": data.get("id") or number}
    endpoint = data.get("endpoint")
    if endpoint is not None:
        if not isinstance(endpoint, Mapping) or not endpoint.get("id") or not endpoint.get("url"):
            raise InvalidRequestError("a deployment's endpoint needs an 'id' and a 'url'")
        check_endpoint(str(endpoint["url"]), scope)
    port = data.get("port")
    if port is not None and (not isinstance(port, int) or port not in scope.ports):
        raise InvalidRequestError(f"port {port!r} is not reserved for service instance {scope.instance_id}")
    engine, ref = data.get("engine"), data.get("ref")
    if engine is None and ref is None:
        return deployment
    if engine == "process" and isinstance(ref, str):
        folder, process = _checked_process(ref, scope)
        return {**deployment, "ref": str(folder), "process": process}
    if engine == "docker" and isinstance(ref, str):
        if ref not in scope.containers:
            raise InvalidRequestError(
                f"Docker container {ref!r} was not started by the platform for service instance "
                f"{scope.instance_id}"
            )
        return deployment
    raise InvalidRequestError(
        f"deployment engine {engine!r} with ref {ref!r}: the platform records only process and docker "
        "deployments it can check (started by runyard.services.launch)"
    )


def check_endpoint(url: str, scope: Scope) -> None:
    """``InvalidRequestError`` unless ``url`` is ``SCHEME://HOST:PORT…`` on loopback or a host of the
    instance's nodes, on a port reserved for the instance: the proxy fetches it from the server."""
    port = _port(url)
    parts = urlsplit(url) if port is not None else None
    if parts is None or not parts.scheme or not parts.hostname:
        raise InvalidRequestError(
            f"endpoint URL {url!r}: give SCHEME://HOST:PORT (http and https may omit the port)"
        )
    if not (_is_loopback(parts.hostname) or parts.hostname in scope.hosts):
        raise InvalidRequestError(
            f"endpoint URL {url!r}: the host must be an IPv4 loopback address (127.0.0.1) or a node "
            "running the instance's tasks"
            f" ({', '.join(sorted(scope.hosts)) or 'none now'})"
        )
    if port not in scope.ports:
        raise InvalidRequestError(
            f"endpoint URL {url!r}: port {port} is not reserved for service instance {scope.instance_id} "
            "(reserve it first: POST /service-instances/{id}/ports)"
        )


def endpoint_port_reserved(url: str, ports: tuple[int, ...]) -> bool:
    """Whether the recorded endpoint ``url`` still uses a port the instance holds (a port released at its
    end may be another instance's by now)."""
    return _port(url) in ports


def _port(url: str) -> int | None:
    """The port of ``url`` (http and https have defaults), ``None`` when it has none or a bad one."""
    try:
        parts = urlsplit(url)
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:  # not a URL, or a bad port
        return None


def stop_container(deployment: Mapping[str, Any], instance_id: int) -> None:
    """Stop the container the platform recorded for the deployment, and nothing else (``ServiceError``
    when it no longer carries the instance's label). The platform runs containers on its own daemon, so
    the server stops them there; processes are stopped on their node (:mod:`runyard.services.stopping`)."""
    from runyard.services.engines.docker import DockerEngine

    DockerEngine().stop(_checked_container(str(deployment["ref"]), instance_id))


def _is_loopback(host: str) -> bool:
    """IPv4 loopback only: a port is reserved once no IPv4 socket holds it, which says nothing of ``::1``
    (nor of what ``localhost`` may resolve to)."""
    try:
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


def _checked_process(ref: str, scope: Scope) -> tuple[Path, dict[str, int]]:
    """The run folder and the checked pids of a claimed process deployment."""
    folder = Path(ref).resolve() if ref.startswith("/") and "\0" not in ref else None
    if folder is None or not _in_instance_folder(folder, scope):
        raise InvalidRequestError(
            f"process {ref!r} is not in the services folder of service instance {scope.instance_id}"
        )
    record = read_state(str(folder))
    if record is None:
        raise InvalidRequestError(f"process {ref!r}: no service was started there")
    supervisor, ticks = int(record["supervisor_pid"]), int(record["supervisor_ticks"])
    stat = live_stat(supervisor, ticks)
    if stat is None:
        raise InvalidRequestError(f"process {ref!r}: its supervisor is not running")
    try:
        works_in = Path(os.readlink(f"/proc/{supervisor}/cwd"))
        account = os.stat(f"/proc/{supervisor}").st_uid
    except OSError:
        raise InvalidRequestError(f"process {ref!r}: its supervisor is not running") from None
    if works_in != folder or account != folder.stat().st_uid:
        raise InvalidRequestError(f"process {ref!r}: the process recorded there is not this folder's service")
    pid, pid_ticks = int(record["pid"]), int(record["ticks"])
    service = proc_stat(pid)
    if (
        service is None
        or service.start_ticks != pid_ticks
        or (service.pgrp, service.session)
        != (
            pid,
            stat.session,
        )
    ):
        raise InvalidRequestError(f"process {ref!r}: the service recorded there is not its supervisor's")
    process = {
        "supervisor_pid": supervisor,
        "supervisor_ticks": ticks,
        "pid": pid,
        "ticks": pid_ticks,
        "pgid": pid,
        "sid": stat.session,
        "stop_timeout": int(record["stop_timeout"]),
    }
    return folder, process


def _in_instance_folder(folder: Path, scope: Scope) -> bool:
    """Under ``<services_dir>/<id>-…`` or ``<services_dir>/<owner>/<id>-…``."""
    try:
        parts = folder.relative_to(scope.services_dir.resolve()).parts
    except ValueError:
        return False
    mine = f"{scope.instance_id}-"
    return (len(parts) > 1 and parts[0].startswith(mine)) or (
        len(parts) > 2 and parts[0] == scope.owner and parts[1].startswith(mine)
    )


def _checked_container(ref: str, instance_id: int) -> str:
    """The full id of container ``ref`` if the platform started it for the instance."""
    import docker
    from docker.errors import DockerException, NotFound

    try:
        with closing(docker.from_env()) as client:
            container = client.containers.get(ref)
    except NotFound:
        raise ServiceError(f"no Docker container {ref!r}") from None
    except (DockerException, OSError) as error:
        raise ServiceError(f"Docker container {ref!r} cannot be checked: {error}") from error
    if (container.labels or {}).get(INSTANCE_LABEL) != str(instance_id):
        raise ServiceError(
            f"Docker container {ref!r} was not started by the platform for service instance {instance_id}"
        )
    container_id: str = container.id
    return container_id
