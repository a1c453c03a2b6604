"""The ``docker`` engine: a service is a container of a Docker-compatible daemon, its ``ref`` its id.

The daemon is the one the environment names (``DOCKER_HOST``, as for the docker CLI). Images are never
pulled: no registry is reachable where runyard runs, so a start whose image the daemon lacks fails and says
how to build runyard's images. ``options`` takes ProActive's ``DOCKER_OPTIONS`` string, restricted to the
``docker run`` options in ``SUPPORTED_OPTIONS``: anything else is refused rather than silently ignored.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from runyard.errors import ConflictError, InvalidRequestError, NotFoundError
from runyard.services.engines import RunState, ServiceError, ServiceStartError

BUILD_HINT = (
    "runyard never pulls images: build runyard's own with `scripts/docker images`, or build or load it"
)

_STATES = {
    "running": RunState.RUNNING,
    "restarting": RunState.RUNNING,
    "paused": RunState.PAUSED,
    "created": RunState.EXITED,
    "exited": RunState.EXITED,
    "dead": RunState.EXITED,
    "removing": RunState.EXITED,
}


@dataclass(frozen=True)
class _Option:
    keyword: str  # the matching keyword of the SDK's ``containers.create``
    value: str  # what the value looks like, for messages


#: The ``docker run`` options ``options`` may hold, by every spelling.
SUPPORTED_OPTIONS: dict[tuple[str, ...], _Option] = {
    ("-e", "--env"): _Option("environment", "KEY=VALUE"),
    ("-v", "--volume"): _Option("volumes", "SOURCE:TARGET[:MODE]"),
    ("-m", "--memory"): _Option("mem_limit", "SIZE"),
    ("-u", "--user"): _Option("user", "USER[:GROUP]"),
    ("-w", "--workdir"): _Option("working_dir", "DIR"),
    ("--entrypoint",): _Option("entrypoint", "COMMAND"),
    ("--network",): _Option("network", "NAME"),
}
_BY_SPELLING = {spelling: option for spellings, option in SUPPORTED_OPTIONS.items() for spelling in spellings}
_PORTS = "the published ports come from the service's reserved ports"
_HOST = "containers share nothing with the host but the mounts and ports the platform allows"
#: Options refused with their reason: they would reach the host (or another service) from a container.
_REFUSED = {
    "--name": "the service names its container",
    "-p": _PORTS,
    "--publish": _PORTS,
    "-P": _PORTS,
    "--publish-all": _PORTS,
    "--privileged": "containers never run privileged",
    "--cap-add": "containers get no capability beyond Docker's default set",
    "--device": _HOST,
    "--device-cgroup-rule": _HOST,
    "--gpus": _HOST,
    "--pid": _HOST,
    "--ipc": _HOST,
    "--uts": _HOST,
    "--userns": _HOST,
    "--cgroupns": _HOST,
    "--net": _HOST,
    "--security-opt": "the platform's security options cannot be relaxed",
    "--mount": "give mounts with -v SOURCE:TARGET[:MODE]",
    "--volumes-from": "mounts are only the instance's own folders and its owner's data spaces",
    "--pull": "runyard never pulls images",
    "--sysctl": _HOST,
    "--ulimit": "the platform sets the container's limits",
    "--cpus": "the platform sets the container's limits",
    "--pids-limit": "the platform sets the container's limits",
    "--memory-swap": "the platform sets the container's limits",
    "--restart": "the platform starts and stops services' containers",
    "--rm": "the platform removes services' containers",
}
#: The networks a container may join: Docker's default bridge (the default), or none.
NETWORKS = ("bridge", "none")


@dataclass(frozen=True)
class Limits:
    """The most one container may use (``docker run --memory``, ``--pids-limit``, ``--cpus``); a
    ``--memory`` option may ask for less memory, never more."""

    memory: str
    pids: int
    cpus: float

    def keywords(self, asked_memory: str | None) -> dict[str, Any]:
        """The SDK's keywords for these limits, with ``asked_memory`` when it is within them."""
        memory = self.memory
        if asked_memory is not None:
            if _bytes(asked_memory) > _bytes(self.memory):
                raise InvalidRequestError(
                    f"Docker option --memory {asked_memory} is above the platform's limit {self.memory}"
                )
            memory = asked_memory
        # No swap beyond the memory limit: memswap_limit equal to mem_limit.
        cpus = min(self.cpus, float(os.cpu_count() or 1))  # Docker refuses more than the host has
        return {
            "mem_limit": memory,
            "memswap_limit": memory,
            "pids_limit": self.pids,
            "nano_cpus": int(cpus * 1e9),
        }


def _bytes(size: str) -> int:
    try:
        return int(docker.utils.parse_bytes(size))
    except DockerException:
        raise InvalidRequestError(f"{size!r} is not a size (give e.g. 256m or 2g)") from None


@dataclass
class DockerOptions:
    """What a ``DOCKER_OPTIONS`` string asks for, as keywords of the SDK's ``containers.create``."""

    environment: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)  # the single-valued options


def parse_options(options: str) -> DockerOptions:
    """Parse ``options`` as ``docker run`` would (``-e A=1``, ``--env=A=1``, ``-eA=1``).

    ``InvalidRequestError`` for an option outside ``SUPPORTED_OPTIONS`` (listing them), a missing value,
    ``-e KEY`` without a value (it would copy the server's own variable) or a volume without a target.
    """
    try:
        words = shlex.split(options)
    except ValueError as error:
        raise InvalidRequestError(f"Docker options {options!r} cannot be split: {error}") from None
    parsed = DockerOptions()
    remaining = iter(words)
    for word in remaining:
        spelling, value = _split_option(word)
        if spelling in _REFUSED:
            raise InvalidRequestError(f"Docker option {spelling} is not allowed: {_REFUSED[spelling]}")
        option = _BY_SPELLING.get(spelling)
        if option is None:
            raise InvalidRequestError(f"unsupported Docker option {word!r}; supported: {supported_options()}")
        if value is None:
            value = next(remaining, None)
            if value is None:
                raise InvalidRequestError(f"Docker option {spelling} needs a value: {option.value}")
        _add(parsed, spelling, option, value)
    return parsed


def supported_options() -> str:
    """The supported options for messages: ``-e/--env KEY=VALUE, ...``."""
    return ", ".join(
        f"{'/'.join(spellings)} {option.value}" for spellings, option in SUPPORTED_OPTIONS.items()
    )


def _split_option(word: str) -> tuple[str, str | None]:
    """(spelling, value given in the same word, if any): ``--env=A=1`` and ``-eA=1`` carry theirs."""
    if word.startswith("--"):
        spelling, equals, value = word.partition("=")
        return spelling, value if equals else None
    if word.startswith("-") and len(word) > 2:
        return word[:2], word[2:]
    return word, None


def _add(parsed: DockerOptions, spelling: str, option: _Option, value: str) -> None:
    if option.keyword == "environment":
        key, equals, setting = value.partition("=")
        if not key or not equals:
            raise InvalidRequestError(f"Docker option {spelling} {value!r}: give {option.value}")
        parsed.environment[key] = setting
    elif option.keyword == "volumes":
        if ":" not in value:
            raise InvalidRequestError(f"Docker option {spelling} {value!r}: give {option.value}")
        parsed.volumes.append(value)
    elif option.keyword == "network":
        if value not in NETWORKS:
            raise InvalidRequestError(
                f"Docker network {value!r} is not allowed: a container joins "
                f"{' or '.join(NETWORKS)} ({_HOST})"
            )
        parsed.settings[option.keyword] = value
    elif option.keyword == "entrypoint":
        parsed.settings[option.keyword] = [value]  # as the CLI does: one word, the image's CMD is dropped
    else:
        parsed.settings[option.keyword] = value


def start_container(
    name: str,
    image: str,
    *,
    ports: Mapping[int, int],
    host: str = "127.0.0.1",
    environment: Mapping[str, str] | None = None,
    volumes: Mapping[str, str] | None = None,
    command: str | Sequence[str] | None = None,
    options: str | DockerOptions = "",
    labels: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> str:
    """Create and start container ``name`` from the local ``image``; return its id.

    ``ports`` maps container (TCP) ports to the ports published on ``host``; ``volumes`` maps a host
    path or volume name to a container path (``/data`` or ``/data:ro``); ``options`` (see
    ``parse_options``, or what it parsed) adds to ``environment`` and ``volumes``. Refuses a name
    already taken, like ProActive's workflows, rather than replace what may be another service's
    container.
    The container never gains privileges (``no-new-privileges``); ``limits`` bound what it uses.
    """
    parsed = options if isinstance(options, DockerOptions) else parse_options(options)
    settings = dict(parsed.settings)
    if limits is not None:
        settings.update(limits.keywords(settings.pop("mem_limit", None)))
    with _client() as client:
        try:
            client.images.get(image)
        except ImageNotFound:
            raise ServiceStartError(_missing_image(image)) from None
        existing = _find(client, name)
        if existing is not None and existing.name == name:
            raise ConflictError(f"a Docker container named {name!r} exists already: remove it first")
        try:
            container = client.containers.create(
                image,
                command=command if isinstance(command, str | None) else list(command),
                name=name,
                ports={f"{inside}/tcp": (host, outside) for inside, outside in ports.items()},
                environment={**(environment or {}), **parsed.environment},
                volumes=[
                    *(f"{source}:{target}" for source, target in (volumes or {}).items()),
                    *parsed.volumes,
                ],
                labels=dict(labels or {}),
                privileged=False,
                security_opt=["no-new-privileges"],
                **settings,
            )
        except ImageNotFound:
            raise ServiceStartError(_missing_image(image)) from None
        except APIError as error:
            if error.status_code == 409:
                raise ConflictError(f"Docker container {name!r}: {error.explanation}") from None
            raise ServiceStartError(f"cannot create Docker container {name!r}: {error.explanation}") from None
        try:
            container.start()
        except APIError as error:
            container.remove(force=True, v=True)
            raise ServiceStartError(f"cannot start Docker container {name!r}: {error.explanation}") from None
        container_id: str = container.id
        return container_id


def container_labels(ref: str) -> dict[str, str] | None:
    """The labels of container ``ref``, or None when there is no such container."""
    with _client() as client:
        container = _find(client, ref)
        return None if container is None else dict(container.labels)


class DockerEngine:
    """Controls containers of the daemon ``DOCKER_HOST`` names, by id (or name)."""

    name = "docker"

    def has_image(self, image: str) -> bool:
        """Whether the daemon has ``image`` (it is never pulled)."""
        with _client() as client:
            try:
                client.images.get(image)
            except ImageNotFound:
                return False
            return True

    def state(self, ref: str) -> RunState:
        with _client() as client:
            container = _find(client, ref)
            if container is None:
                return RunState.MISSING
            return _STATES.get(container.status, RunState.EXITED)

    def pause(self, ref: str) -> None:
        """Freeze every process of the container (cgroup freezer); a paused one stays paused."""
        with _client() as client:
            container = _get(client, ref)
            if container.status == "paused":
                return
            if container.status != "running":
                raise ConflictError(f"Docker container {ref} is {container.status}: it cannot be paused")
            container.pause()

    def resume(self, ref: str) -> None:
        """Unpause, or start again one that has exited (as ProActive's ``docker start`` resume does)."""
        with _client() as client:
            container = _get(client, ref)
            if container.status == "paused":
                container.unpause()
            elif container.status != "running":
                container.start()

    def stop(self, ref: str) -> None:
        with _client() as client:
            container = _find(client, ref)
            if container is None:
                return
            try:
                container.remove(force=True, v=True)
            except NotFound:
                return
            except APIError as error:
                if error.status_code != 409:  # 409: another call is removing it already
                    raise

    def logs(self, ref: str, since: float | None = None) -> str:
        with _client() as client:
            container = _get(client, ref)
            output: bytes = container.logs(
                stdout=True, stderr=True, since=since if since and since > 0 else None
            )
            return output.decode(errors="replace")


@contextmanager
def _client() -> Iterator[Any]:
    """A client of the daemon ``DOCKER_HOST`` names; daemon and connection failures: ``ServiceError``."""
    where = os.environ.get("DOCKER_HOST") or "the default socket (DOCKER_HOST is unset)"
    try:
        with closing(docker.from_env()) as client:
            yield client
    except (DockerException, OSError) as error:
        raise ServiceError(
            f"Docker daemon at {where}: {error} (for development: `scripts/docker start --dir DIR` "
            "starts one and prints the DOCKER_HOST to set)"
        ) from error


def _find(client: Any, ref: str) -> Any:
    """The container whose id, name or id prefix is ``ref``, or None."""
    try:
        return client.containers.get(ref)
    except NotFound:
        return None


def _get(client: Any, ref: str) -> Any:
    container = _find(client, ref)
    if container is None:
        raise NotFoundError(f"no Docker container {ref}")
    return container


def _missing_image(image: str) -> str:
    return f"Docker image {image!r} is not on the Docker daemon; {BUILD_HINT}"
