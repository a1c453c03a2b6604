"""What the App Engine's tests share: its URL, uploads, bundles made from the corpus's, Docker.

Tests that upload need a Docker daemon: use the module fixture ``docker_host`` (import it into the
test module). The daemon is shared by every test session (tests/support/docker.py), so an image
name may be used by another module's server at the same time: a test that *deletes* a task uploads
it under a namespace of its own (:func:`renamed_bundle`), never a corpus namespace.
"""

from __future__ import annotations

import io
import itertools
import os
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from appengine.conftest import BUNDLES
from runyard.store.database import connect
from runyard.store.schema import app_engine_runs
from support.docker import docker_daemon
from support.server import LiveServer, bearer

PREFIX = "/app-engine/v1"
_unique = itertools.count(1)


def app_engine(server: LiveServer, token: str | None = None) -> httpx.Client:
    """An httpx client on ``/app-engine/v1`` sending ``token`` (default: the admin's)."""
    return httpx.Client(
        base_url=f"{server.url}{PREFIX}", headers=bearer(token or server.admin_token), timeout=120
    )


def upload_answer(
    server: LiveServer, token: str, bundle: Path | bytes, filename: str = "task.zip"
) -> httpx.Response:
    """POST ``/tasks`` with ``bundle`` (a file or its bytes) as the multipart file part ``task``."""
    data = bundle.read_bytes() if isinstance(bundle, Path) else bundle
    if isinstance(bundle, Path):
        filename = bundle.name
    with app_engine(server, token) as client:
        return client.post("/tasks", files={"task": (filename, data, "application/zip")})


def upload(server: LiveServer, token: str, bundle: Path | bytes) -> dict[str, Any]:
    """Upload ``bundle``; its TaskDescription (the upload must succeed)."""
    answer = upload_answer(server, token, bundle)
    assert answer.status_code == 200, answer.text
    description: dict[str, Any] = answer.json()
    return description


def corpus_bundle(name: str) -> Path:
    """A corpus bundle by file name, or by ``namespace-version``."""
    path = BUNDLES / (name if name.endswith((".zip", ".7z")) else f"{name}.zip")
    assert path.is_file(), path
    return path


def bundle_entries(bundle: Path | bytes) -> dict[str, bytes]:
    """The entries of a bundle (a file, or a zip's bytes), in order."""
    with zipfile.ZipFile(bundle if isinstance(bundle, Path) else io.BytesIO(bundle)) as archive:
        return {entry.filename: archive.read(entry) for entry in archive.infolist()}


def make_zip(entries: Mapping[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def renamed_bundle(
    base: str = "com.cytomine.dummy.identity.boolean-1.0.0",
    *,
    namespace: str | None = None,
    change: Callable[[dict[str, Any]], None] | None = None,
    extra: Mapping[str, bytes] | None = None,
) -> tuple[bytes, str]:
    """A corpus bundle's image and descriptor under a namespace of its own (unique unless given),
    ``change`` applied to the descriptor; the zip's bytes and the namespace."""
    namespace = namespace or f"org.runyard.test.t{os.getpid()}x{next(_unique)}x{uuid.uuid4().hex[:6]}"
    entries = bundle_entries(corpus_bundle(base))
    name = next(entry for entry in entries if entry.lower().startswith("descriptor."))
    document = yaml.safe_load(entries[name])
    document["namespace"] = namespace
    if change is not None:
        change(document)
    entries[name] = yaml.safe_dump(document, sort_keys=False).encode()
    entries.update(extra or {})
    return make_zip(entries), namespace


def image_tar_of(base: str = "com.cytomine.dummy.identity.boolean-1.0.0") -> tuple[str, bytes]:
    """The name and bytes of a corpus bundle's image tar."""
    entries = bundle_entries(corpus_bundle(base))
    return next((name, data) for name, data in entries.items() if name.endswith(".tar"))


class FeatureContext(dict[str, Any]):
    """What a feature's scenario steps pass each other: ``server``, the ``run`` made (its JSON)."""

    @property
    def server(self) -> LiveServer:
        server: LiveServer = self["server"]
        return server

    def client(self) -> httpx.Client:
        return app_engine(self.server)

    @property
    def run_id(self) -> str:
        run_id: str = self["run"]["id"]
        return run_id

    def row(self) -> dict[str, Any]:
        """The run's row as the platform records it (the server's SQLite store)."""
        engine = connect(f"sqlite:///{self.server.data_dir / 'runyard.db'}")
        try:
            with engine.connect() as connection:
                query = app_engine_runs.select().where(app_engine_runs.c.id == self.run_id)
                return dict(connection.execute(query).mappings().one())
        finally:
            engine.dispose()

    def state(self) -> str:
        with self.client() as client:
            state: str = client.get(f"/task-runs/{self.run_id}").json()["state"]
        return state


@pytest.fixture(scope="module")
def docker_host() -> Iterator[str]:
    """A Docker daemon for the module's tests (its ``DOCKER_HOST``, also set in this process)."""
    with docker_daemon([]) as host:
        yield host
