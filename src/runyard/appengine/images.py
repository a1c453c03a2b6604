"""Task images on the container engine: loaded from a bundle's tar, named, unnamed.

The engine is the server's (``docker.from_env()``: ``DOCKER_HOST``), as for runyard's services. An
image is only ever loaded from a tar (``docker load``), never pulled. It is known by its id (the
digest of its config, read from the tar before loading it): several bundles may carry one image,
and an image the engine has already is accepted as it is. It is then named as Cytomine names it:
``{namespace with . → /}:{version}`` lower-cased (the descriptor rule), or, when that is not a valid
image reference, from the tar's file name (Cytomine's own rule: the text before the first ``-``
with ``.`` → ``/``, then ``:`` and the text after it).

With a registry (``app_engine_registry``: ``host:port[/prefix]``) the image is also pushed as
``{registry}/{name}`` (:func:`push`; the engine keeps only its plain name), which nodes pull rather
than download the tar; a node checks the pulled image's id (runyard/appengine/runner.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import zlib
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound

from runyard.appengine.errors import AppEngineError

log = logging.getLogger(__name__)

IMAGE_VALIDATION = "APPE-internal-bundle-image-validation-error"
PUSH_FAILED = "APPE-registry-push-failed"

#: A repository path as Docker accepts one (lower-case components; no registry host: no ``.``).
_COMPONENT = r"[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
MAX_NAME = 255
_NAMING = tuple(threading.Lock() for _ in range(64))
REQUEST_TIMEOUT = 60
"""Seconds the engine has to answer a request (docker's own default)."""
LOAD_TIMEOUT = 1800
"""Seconds the engine has to load an image (gigabytes of layers, on a busy disk)."""


def image_name(namespace: str, version: str, tar_name: str) -> str:
    """The name a task's image is tagged with; 400 when neither rule gives a valid reference."""
    by_descriptor = _reference(namespace.replace(".", "/"), version)
    if by_descriptor:
        return by_descriptor
    stem = tar_name.removesuffix(".tar")
    if "-" in stem:
        prefix, suffix = stem.split("-", 1)
        by_tar = _reference(prefix.replace(".", "/"), suffix)
        if by_tar:
            return by_tar
    raise AppEngineError(
        400,
        "APPE-internal-bundle-validation-error",
        f"unknown task bundle archive format: no valid image name from the namespace {namespace!r} and "
        f"version {version!r}, nor from the tar's name {tar_name!r}",
    )


#: A registry as ``app_engine_registry`` names one: a host (DNS name, IPv4 or ``[IPv6]``), an optional
#: port, an optional path of repository components.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])"
_REGISTRY = re.compile(rf"(?P<host>{_HOST})(?::(?P<port>[0-9]{{1,5}}))?(?P<prefix>(?:/{_COMPONENT})*)")


@dataclass(frozen=True)
class Registry:
    """Where uploads push task images (``app_engine_registry``), and as whom."""

    address: str
    """``host:port[/prefix]``."""
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    def auth(self) -> dict[str, str] | None:
        """The engine's ``auth_config`` for a push; none: what ``docker login`` left for the server's user."""
        if self.user is None or self.password is None:
            return None
        return {"username": self.user, "password": self.password}


def check_registry(text: str) -> str:
    """``text`` as a registry ``host[:port][/prefix]`` (no trailing ``/``); ``ValueError`` saying what
    is wrong otherwise."""
    value = text.strip().rstrip("/")
    if "://" in value:
        raise ValueError(f"{text!r}: a registry is host:port[/prefix], without a scheme (Docker chooses it)")
    match = _REGISTRY.fullmatch(value)
    if match is None:
        raise ValueError(
            f"{text!r} is not host[:port][/prefix] (host a DNS name, an IPv4 address or [IPv6], prefix "
            "lower-case repository components separated by /)"
        )
    host, port = match["host"], match["port"]
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: {port} is not a TCP port")
    if port is None and "." not in host and host != "localhost" and not host.startswith("["):
        raise ValueError(
            f"{text!r}: Docker takes a first component without a '.' or a port for a Docker Hub "
            f"namespace; give the port ({host}:5000) or the full host name"
        )
    return value


def registry_reference(registry: Registry, name: str) -> str:
    """The reference the image ``name`` is pushed as (``{registry}/{name}``); 400 when too long."""
    reference = f"{registry.address}/{name}"
    if len(reference.rsplit(":", 1)[0]) > MAX_NAME:
        raise AppEngineError(
            400,
            "APPE-internal-bundle-validation-error",
            f"the image's name in the registry, {reference}, is longer than {MAX_NAME} characters",
        )
    return reference


def _reference(repository: str, tag: str) -> str | None:
    repository = repository.lower()
    if _REPOSITORY.fullmatch(repository) and _TAG.fullmatch(tag) and len(repository) <= MAX_NAME:
        return f"{repository}:{tag}"
    return None


@contextmanager
def _engine(code: str = PUSH_FAILED, timeout: float = REQUEST_TIMEOUT) -> Iterator[Any]:
    """A client of the engine; the engine unreachable or failing: 500 ``code``."""
    where = os.environ.get("DOCKER_HOST") or "the default socket"
    try:
        with closing(docker.from_env(timeout=timeout)) as client:
            yield client
    except AppEngineError:
        raise
    except (DockerException, OSError) as error:
        raise AppEngineError(500, code, f"the container engine at {where} failed: {error}") from error


def _exists(client: Any, reference: str) -> bool:
    try:
        client.api.inspect_image(reference)
    except ImageNotFound:
        return False
    return True


def naming(image_id: str) -> threading.Lock:
    """The lock held while the image ``image_id`` may be unnamed on purpose (from an upload's load to its
    naming) and around each removal of a name or of an unnamed image: without it, an upload failing right
    after loading an image removed it while another upload of that image was about to name it. In this
    server process only: uploads through other servers on the same engine are not ordered by it."""
    return _NAMING[zlib.crc32(image_id.encode()) % len(_NAMING)]


def load(tar: Path, image_id: str) -> bool:
    """Load the image of ``tar`` (its names stripped) unless the engine has ``image_id`` already;
    True when it was loaded now. A tar the engine refuses, or that does not give ``image_id``: 400."""
    with _engine(timeout=LOAD_TIMEOUT) as client:
        if _exists(client, image_id):
            return False
        try:
            with open(tar, "rb") as data:
                for message in client.api.load_image(data, quiet=True):
                    if isinstance(message, dict) and message.get("error"):
                        raise AppEngineError(400, IMAGE_VALIDATION, f"docker load failed: {message['error']}")
        except APIError as error:
            if error.status_code is not None and error.status_code >= 500 and not error.explanation:
                raise
            raise AppEngineError(
                400, IMAGE_VALIDATION, f"docker load failed: {error.explanation or error}"
            ) from None
        if not _exists(client, image_id):
            raise AppEngineError(400, IMAGE_VALIDATION, f"docker load did not give the image {image_id}")
        return True


def image_of(name: str) -> str | None:
    """The id of the image ``name`` names on the engine, if any."""
    with _engine() as client:
        try:
            found: str = client.api.inspect_image(name)["Id"]
        except ImageNotFound:
            return None
        return found


def tag(image_id: str, name: str) -> None:
    """Name the image ``image_id`` ``name`` (``repository:tag``)."""
    repository, version = name.rsplit(":", 1)
    with _engine() as client:
        if not client.api.tag(image_id, repository, version, force=True):
            raise AppEngineError(500, PUSH_FAILED, f"the engine did not tag {image_id} as {name}")


def push(image_id: str, reference: str, auth: Mapping[str, str] | None = None) -> None:
    """Push the image ``image_id`` to a registry as ``reference`` (``host:port/repository:tag``); the
    name ``reference`` is removed from the engine again, pushed or not. 500 ``APPE-registry-push-failed``
    with the engine's reason when the push fails (a registry unreachable, refusing, a TLS error...).

    ``auth`` (``username``, ``password``) are the credentials sent with it; without, the ones ``docker
    login`` left for the server's user (``~/.docker/config.json``: the client library sends them)."""
    repository, version = reference.rsplit(":", 1)
    with _engine(timeout=LOAD_TIMEOUT) as client:
        if not client.api.tag(image_id, repository, version, force=True):
            raise AppEngineError(500, PUSH_FAILED, f"the engine did not tag {image_id} as {reference}")
        try:
            pushed = client.api.push(repository, version, stream=True, decode=True, auth_config=auth)
            for message in pushed:
                if isinstance(message, dict) and message.get("error"):
                    raise AppEngineError(
                        500, PUSH_FAILED, f"docker push {reference} failed: {message['error']}"
                    )
        except APIError as error:
            raise AppEngineError(
                500, PUSH_FAILED, f"docker push {reference} failed: {error.explanation or error}"
            ) from None
        finally:
            with contextlib.suppress(APIError):  # the image keeps its plain name
                client.api.remove_image(reference, force=False, noprune=True)
        log.info("App Engine: image %s pushed as %s", image_id, reference)


def untag(name: str) -> None:
    """Remove the name ``name``; the image goes with it when no other name is left on it (an image
    a container still uses stays, unnamed, until the engine prunes it)."""
    with _engine("APPE-storage-deletion-error") as client:
        try:
            client.api.remove_image(name, force=True)
        except ImageNotFound:
            return


def remove_unnamed(image_id: str) -> None:
    """Remove the image ``image_id`` if nothing names it (an upload that failed after loading it);
    kept when another upload named it meanwhile or a container uses it."""
    try:
        with _engine() as client:
            try:
                tags = client.api.inspect_image(image_id).get("RepoTags") or []
            except ImageNotFound:
                return
            if not tags:
                client.api.remove_image(image_id, force=False)
    except (AppEngineError, APIError) as error:
        log.warning("App Engine: the unused image %s was kept: %s", image_id, error)
