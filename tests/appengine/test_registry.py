"""The App Engine's registry (``app_engine_registry``), against a real one (Debian's docker-registry).

An upload pushes the task's image as ``{registry}/{name}`` and records it; a node whose engine lacks the
image pulls it (checking its id) rather than download the tar; a push that fails keeps nothing; an image
swapped in the registry under the task's name FAILS the run, naming both ids, and never runs.

Each test builds an image of its own (the identity.string bundle's, with a label of its own): it removes
that image from the shared engine (as a node without it), never an image another module uses.
"""

from __future__ import annotations

import io
import re
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import docker
import pytest
from docker.errors import ImageNotFound

from appengine.helpers import app_engine, corpus_bundle, docker_host, renamed_bundle, upload, upload_answer
from runyard.appengine.runs import REASON_HEADER
from runyard.store.database import connect
from runyard.store.schema import app_engine_tasks
from support.registry import Registry, image_registry
from support.server import LiveServer, live_server

__all__ = ["docker_host"]

BASE = "com.cytomine.dummy.identity.string-1.0.0"
VERSION = "1.0.0"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with image_registry(tmp_path_factory.mktemp("registry")) as started:
        yield started


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, docker_host: str, registry: Registry
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("server")
    with live_server(folder, app_engine_run_mode="local", app_engine_registry=registry.address) as started:
        yield started


@pytest.fixture
def engine(docker_host: str) -> Iterator[Any]:
    client = docker.from_env()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def base(server: LiveServer) -> str:
    """The id of the identity.string bundle's image, loaded by an upload (a tar loaded by hand would
    apply the names it carries, ``local-image-name:latest``, on the engine other modules share)."""
    with app_engine(server) as client:
        if client.get(f"/tasks/{BASE.replace('-', '/', 1)}").status_code == 404:
            upload(server, server.admin_token, corpus_bundle(BASE))
    engine = docker.from_env()
    try:
        return str(engine.images.get(f"{BASE.split('-')[0].replace('.', '/')}:{VERSION}").id)
    finally:
        engine.close()


def own_image(engine: Any, base: str) -> str:
    """The id of a new image: ``base`` with a label of its own (no layer added)."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        dockerfile = f"FROM {base}\nLABEL org.runyard.test.registry={uuid.uuid4().hex}\n".encode()
        entry = tarfile.TarInfo("Dockerfile")
        entry.size = len(dockerfile)
        tar.addfile(entry, io.BytesIO(dockerfile))
    context.seek(0)
    image, _ = engine.images.build(fileobj=context, custom_context=True, pull=False, rm=True)
    return str(image.id)


def own_task_bundle(engine: Any, base: str) -> tuple[bytes, str, str]:
    """A bundle of identity.string under a namespace of its own with an image of its own: the zip's
    bytes, the image's repository (``org/runyard/...``) and its id."""
    image_id = own_image(engine, base)
    saved = b"".join(engine.images.get(image_id).save(named=False))
    bundle, namespace = renamed_bundle(BASE, extra={f"{BASE}.tar": saved})
    return bundle, namespace.replace(".", "/"), image_id


def registry_image(server: LiveServer, task_id: str) -> str | None:
    """The task's ``registry_image``, as the server recorded it."""
    store = connect(f"sqlite:///{server.data_dir / 'runyard.db'}")
    try:
        with store.connect() as connection:
            query = app_engine_tasks.select().where(app_engine_tasks.c.id == task_id)
            value: str | None = connection.execute(query).mappings().one()["registry_image"]
            return value
    finally:
        store.dispose()


def names_of(engine: Any, image_id: str) -> list[str]:
    try:
        tags: list[str] = engine.api.inspect_image(image_id).get("RepoTags") or []
    except ImageNotFound:
        return []
    return tags


def run_to_end(server: LiveServer, task: dict[str, Any], value: str) -> tuple[dict[str, Any], str]:
    """A run of the identity task given ``value``, started and waited for: its body (with its
    ``reason`` and, FINISHED, its ``outputs``) and its logs."""
    with app_engine(server) as client:
        run = client.post(f"/tasks/{task['id']}/runs").json()["id"]
        given = client.put(
            f"/task-runs/{run}/input-provisions/input", json={"parameterName": "input", "value": value}
        )
        assert given.status_code == 200, given.text
        started = client.post(f"/task-runs/{run}/state-actions", json={"desired": "RUNNING"})
        assert started.status_code == 200, started.text
        deadline = time.monotonic() + 90
        while (final := client.get(f"/task-runs/{run}")).json()["state"] not in ("FINISHED", "FAILED"):
            assert time.monotonic() < deadline, final.text
            time.sleep(0.1)
        final = final.json() | {"reason": unquote(final.headers.get(REASON_HEADER, ""))}
        logs = client.get(f"/task-runs/{run}/logs")
        assert logs.status_code == 200, logs.text
        if final["state"] == "FINISHED":
            outputs = client.get(f"/task-runs/{run}/outputs").json()
            final["outputs"] = {output["parameterName"]: output["value"] for output in outputs}
    return final, logs.text


def test_an_upload_pushes_the_image_and_a_node_without_it_pulls_it(
    server: LiveServer, registry: Registry, engine: Any, base: str
) -> None:
    bundle, repository, image_id = own_task_bundle(engine, base)
    task = upload(server, server.admin_token, bundle)
    reference = f"{registry.address}/{repository}:{VERSION}"
    assert registry.tags(repository) == [VERSION]
    assert registry_image(server, task["id"]) == reference
    assert names_of(engine, image_id) == [f"{repository}:{VERSION}"]  # the registry's name not kept

    engine.images.remove(image_id, force=True)  # as a node without it
    final, logs = run_to_end(server, task, "pulled")
    assert final["state"] == "FINISHED", final
    assert final["outputs"] == {"output": "pulled"}
    assert f"pulling {reference}" in logs and f"pulled {reference}: image {image_id}" in logs
    assert "loading its tar" not in logs
    assert engine.api.inspect_image(image_id)["Id"] == image_id

    with app_engine(server) as client:  # the task deleted: the pulled name goes from the engine too
        assert client.delete(f"/tasks/{task['namespace']}/{task['version']}").status_code == 200
    assert names_of(engine, image_id) == []


def test_a_push_that_fails_answers_500_and_keeps_nothing(
    server: LiveServer, registry: Registry, engine: Any, base: str
) -> None:
    bundle, repository, image_id = own_task_bundle(engine, base)
    registry.stop()
    try:
        answer = upload_answer(server, server.admin_token, bundle)
    finally:
        registry.start()
    assert answer.status_code == 500, answer.text
    body = answer.json()
    assert body["errorCode"] == "APPE-registry-push-failed", body
    assert f"{registry.address}/{repository}:{VERSION}" in body["message"]
    with app_engine(server) as client:
        namespace = repository.replace("/", ".")
        assert namespace not in {task["namespace"] for task in client.get("/tasks").json()}
        assert client.get(f"/tasks/{namespace}/{VERSION}").status_code == 404
    assert names_of(engine, image_id) == []  # neither its name nor the registry's left on the engine
    assert registry.tags(repository) == []
    descriptors = (server.data_dir / "app-engine").glob("task-*-def/descriptor.yml")
    assert not [path for path in descriptors if namespace in path.read_text()]  # no task folder
    # the registry back: the same bundle uploads
    task = upload(server, server.admin_token, bundle)
    assert registry.tags(repository) == [VERSION]
    with app_engine(server) as client:
        assert client.delete(f"/tasks/{task['namespace']}/{task['version']}").status_code == 200


def test_a_node_whose_pull_fails_loads_the_tar(
    server: LiveServer, registry: Registry, engine: Any, base: str
) -> None:
    bundle, repository, image_id = own_task_bundle(engine, base)
    task = upload(server, server.admin_token, bundle)
    engine.images.remove(image_id, force=True)
    registry.stop()
    try:
        final, logs = run_to_end(server, task, "from the tar")
    finally:
        registry.start()
    assert final["state"] == "FINISHED", final
    assert final["outputs"] == {"output": "from the tar"}
    reference = f"{registry.address}/{repository}:{VERSION}"
    assert f"pull of {reference} failed" in logs and "connection refused" in logs, logs
    assert f"image {image_id} not on this node's engine: loading its tar" in logs
    with app_engine(server) as client:
        assert client.delete(f"/tasks/{task['namespace']}/{task['version']}").status_code == 200


def test_an_image_swapped_in_the_registry_fails_the_run_and_never_runs(
    server: LiveServer, registry: Registry, engine: Any, base: str
) -> None:
    bundle, repository, image_id = own_task_bundle(engine, base)
    task = upload(server, server.admin_token, bundle)
    reference = f"{registry.address}/{repository}"
    hostile = own_image(engine, base)
    assert engine.api.tag(hostile, reference, VERSION, force=True)
    pushed = list(engine.api.push(reference, VERSION, stream=True, decode=True))
    assert not [message for message in pushed if "error" in message], pushed
    engine.api.remove_image(f"{reference}:{VERSION}")  # gone from the engine: the node pulls it
    engine.images.remove(image_id, force=True)

    final, logs = run_to_end(server, task, "swapped")
    assert final["state"] == "FAILED", final
    reason = final["reason"]
    assert image_id in reason and hostile in reason, reason
    assert "started" not in logs and "exited with code" not in logs, logs
    assert names_of(engine, hostile) == []  # the swapped image's name removed from the node
    with app_engine(server) as client:
        assert client.delete(f"/tasks/{task['namespace']}/{task['version']}").status_code == 200


def test_the_setting_is_checked_at_start() -> None:
    from runyard.errors import InvalidRequestError
    from runyard.server.config import load_config

    environ = {"RUNYARD_APP_ENGINE_REGISTRY": "registry.example.org:5000/team/"}
    assert load_config({}, environ).app_engine_registry == "registry.example.org:5000/team"
    for value, said in [
        ("http://registry.example.org", "without a scheme"),
        ("registry", "Docker Hub namespace"),
        ("reg.example.org:70000", "not a TCP port"),
        ("reg.example.org/Team", "not host[:port][/prefix]"),
    ]:
        with pytest.raises(InvalidRequestError, match="app_engine_registry: .*" + re.escape(said)):
            load_config({}, {"RUNYARD_APP_ENGINE_REGISTRY": value})


def test_uploads_push_as_the_configured_user_and_a_wrong_password_keeps_nothing(
    tmp_path: Path, docker_host: str, engine: Any, base: str
) -> None:
    """``app_engine_registry_user`` and ``…_password`` (Cytomine's ``REGISTRY_USER``/``PASSWORD``) go with
    each push to a registry that asks for them; a wrong password is 500 ``APPE-registry-push-failed``."""
    account = ("runyard", "a registry password")
    with image_registry(tmp_path / "registry", user=account) as registry:
        for password, pushed in ((account[1], True), ("not the password", False)):
            bundle, repository, _ = own_task_bundle(engine, base)
            settings = {
                "app_engine_registry": registry.address,
                "app_engine_registry_user": account[0],
                "app_engine_registry_password": password,
            }
            with live_server(tmp_path / f"server-{pushed}", **settings) as server:
                if pushed:
                    task = upload(server, server.admin_token, bundle)
                    assert registry_image(server, task["id"]) == f"{registry.address}/{repository}:{VERSION}"
                else:
                    answer = upload_answer(server, server.admin_token, bundle)
                    assert answer.status_code == 500, answer.text
                    assert answer.json()["errorCode"] == "APPE-registry-push-failed", answer.text
                    assert "unauthorized" in answer.json()["message"], answer.text
                    with app_engine(server) as client:
                        assert client.get("/tasks").json() == []
            assert registry.tags(repository) == ([VERSION] if pushed else [])


def test_the_registry_password_is_never_shown() -> None:
    from runyard.errors import InvalidRequestError
    from runyard.server.config import load_config

    environ = {
        "RUNYARD_APP_ENGINE_REGISTRY": "registry.example.org:5000",
        "RUNYARD_APP_ENGINE_REGISTRY_USER": "runyard",
        "RUNYARD_APP_ENGINE_REGISTRY_PASSWORD": "hunter2-secret",
    }
    config = load_config({}, environ)
    assert config.app_engine_image_registry is not None
    assert config.app_engine_image_registry.auth() == {"username": "runyard", "password": "hunter2-secret"}
    assert "hunter2" not in repr(config) and "hunter2" not in repr(config.app_engine_image_registry)
    del environ["RUNYARD_APP_ENGINE_REGISTRY_PASSWORD"]
    with pytest.raises(InvalidRequestError, match="both, or neither"):
        load_config({}, environ)
