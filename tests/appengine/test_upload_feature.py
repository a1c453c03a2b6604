"""Cytomine's ``upload.feature``, run as is against a live server and a real Docker daemon.

What the rows name and what they are run with:

- Every namespace of the successful and duplicate outlines is a corpus bundle
  ``<namespace>-<version>.zip`` (``identity.image`` and ``identity.datetime`` included: the corpus has
  them since its second round), uploaded as it is.
- ``<task uuid>`` and ``<storage identifier>`` are upstream's fixed examples (its tests pick the id);
  runyard makes the id, so the steps check the id the upload answered and its folder
  ``task-<id>-def``.
- ``<image name>``: the step says how it is made (namespace with ``.`` → ``/``, then ``:`` and the
  version) and that rule is checked. The ``integer.collection`` row's column says
  ``…/primitive-collection:0.1.0``, the tag *inside* that bundle's tar, which the rule does not give;
  tags inside tars are not used (corpus README, "Image naming"), so the rule's
  ``com/cytomine/dummy/identity/integer/collection:0.1.0`` is checked, naming the image whose id the
  tar's manifest gives.
- ``<tar filepath>`` and ``configuration.image.file``: upstream no longer reads that field (anchor
  §1.1): the tar is the zip's ``*.tar`` entry, checked to be the column's name.
- The invalid-descriptor outline: task1 is ``no_version.zip``, task2 ``unexpected_path.zip`` (its
  descriptor says ``docker/image.tar``, its tar is ``image.tar``, listed first), task3
  ``wrong_name.zip`` (``myimage.tar``); all three have descriptors the schema refuses.
- "Registry service": runyard has none; the container engine images are loaded into is checked.
"""

from __future__ import annotations

import json
import tarfile
import uuid
import zipfile
from contextlib import closing
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from appengine.conftest import FEATURES
from appengine.helpers import app_engine, corpus_bundle, docker_host, upload_answer
from support.server import LiveServer

scenarios(str(FEATURES / "upload.feature"))

__all__ = ["docker_host"]

INVALID = {"task1": "no_version.zip", "task2": "unexpected_path.zip", "task3": "wrong_name.zip"}
QUOTED = r'"(?P<{}>[^"]*)"'


class Context(dict[str, Any]):
    """What a scenario's steps pass each other."""


@pytest.fixture
def context(server: LiveServer, docker_host: str) -> Context:
    return Context(server=server)


def _storage(server: LiveServer) -> Path:
    return server.data_dir / "app-engine"


def _state(server: LiveServer) -> tuple[list[dict[str, Any]], set[str]]:
    """The tasks the server lists and the task folders it has."""
    with app_engine(server) as client:
        listed: list[dict[str, Any]] = client.get("/tasks").json()
    folders = {path.name for path in _storage(server).glob("task-*-def")}
    return listed, folders


def _tar_files(context: Context) -> dict[str, bytes]:
    """The small files of the bundle's image tar (manifest.json, index.json...)."""
    files = {}
    with (
        zipfile.ZipFile(context["bundle"]) as archive,
        archive.open(context["tar"]) as tar,
        tarfile.open(fileobj=tar, mode="r|") as image,
    ):
        for member in image:
            stream = image.extractfile(member) if member.isfile() and member.size < 65536 else None
            if stream is not None:
                files[member.name] = stream.read()
    return files


# Background


@given("App Engine is up and running")
def app_engine_up(context: Context) -> None:
    assert httpx.get(f"{context['server'].url}/ping", timeout=60).json()["status"] == "UP"


@given("File storage service is up and running")
def storage_up(context: Context) -> None:
    context["before"] = _state(context["server"])


@given("Registry service is up and running")
def registry_up(context: Context) -> None:
    with closing(docker.from_env()) as client:
        assert client.ping()


# Given


@given(
    parsers.re(
        r"a task uniquely identified by an "
        + QUOTED.format("namespace")
        + " and a "
        + QUOTED.format("version")
    )
)
def task_identified(context: Context, namespace: str, version: str) -> None:
    context["namespace"], context["version"] = namespace, version
    if version:
        context["bundle"] = corpus_bundle(f"{namespace}-{version}")


@given(parsers.re(r"this task identified by an .* is not yet known to the App Engine"))
def not_yet_known(context: Context) -> None:
    with app_engine(context["server"]) as client:
        answer = client.get(f"/tasks/{context['namespace']}/{context['version']}")
    assert answer.status_code == 404, answer.text
    assert answer.json()["errorCode"] == "APPE-internal-task-not-found"


@given("this task is already registered by the App Engine")
def already_registered(context: Context) -> None:
    answer = upload_answer(context["server"], context["server"].admin_token, context["bundle"])
    assert answer.status_code in (200, 409), answer.text
    context["before"] = _state(context["server"])


@given("this task is represented by a zip archive containing a task descriptor file and a docker image")
def zip_with_descriptor_and_image(context: Context) -> None:
    with zipfile.ZipFile(context["bundle"]) as archive:
        names = archive.namelist()
    assert "descriptor.yml" in names
    assert [name for name in names if name.endswith(".tar")]


@given(
    parsers.re(
        r"this task "
        + QUOTED.format("task")
        + r" is represented by a zip archive containing a task descriptor "
        r"file " + QUOTED.format("version") + r" and a docker image at " + QUOTED.format("image_path")
    )
)
def invalid_task_bundle(context: Context, task: str, version: str, image_path: str) -> None:
    context["bundle"] = corpus_bundle(INVALID[task])
    context["task"] = task


@given(parsers.re(r'the task descriptor is a YAML file stored in the zip archive named "descriptor.yml".*'))
def descriptor_in_zip(context: Context) -> None:
    with zipfile.ZipFile(context["bundle"]) as archive:
        assert archive.read("descriptor.yml")


@given(
    parsers.re(
        r"the Docker image stored in the zip archive is represented by a tar file of which the relative "
        r"path is " + QUOTED.format("tar")
    )
)
def tar_in_zip(context: Context, tar: str) -> None:
    with zipfile.ZipFile(context["bundle"]) as archive:
        assert tar in archive.namelist()
    context["tar"] = tar


@given(
    parsers.re(r'.* is either defined by the field "configuration.image.file" in the task descriptor or.*')
)
def tar_named_by_descriptor(context: Context) -> None:
    """Not read by upstream any more (nor by runyard): any ``*.tar`` entry is the image."""


@given(parsers.re(r'the "(?P<expected>[^"]*)" can be retrieved from "configuration.image.file".*'))
def expected_tar_path(context: Context, expected: str) -> None:
    """As above: the field is not read."""


# When


@when("user calls POST on endpoint with the zip archive as a multipart file parameter")
def post_bundle(context: Context) -> None:
    context["answer"] = upload_answer(context["server"], context["server"].admin_token, context["bundle"])


# Then


@then("App Engine unzip the zip archive")
def unzipped(context: Context) -> None:
    assert context["answer"].status_code == 200, context["answer"].text


@then("App Engine successfully validates the task descriptor against the descriptor schema")
def descriptor_valid(context: Context) -> None:
    description = context["answer"].json()
    assert (description["namespace"], description["version"]) == (context["namespace"], context["version"])


@then(
    parsers.re(
        r"App Engine successfully validates the docker image by checking that the tar file contains a "
        r'"manifest.json" file'
    )
)
def image_valid(context: Context) -> None:
    assert "manifest.json" in _tar_files(context)


@then(parsers.re(r"App Engine stores relevant task metadata .* in the database associated with the .*"))
def metadata_stored(context: Context) -> None:
    description = context["answer"].json()
    with app_engine(context["server"]) as client:
        stored = client.get(f"/tasks/{description['id']}").json()
    assert stored == description


@then(parsers.re(r"App Engine creates a unique .* for referencing the task"))
def unique_id(context: Context) -> None:
    task_id = context["answer"].json()["id"]
    assert str(uuid.UUID(task_id)) == task_id
    listed, _ = _state(context["server"])
    assert [task["id"] for task in listed].count(task_id) == 1


@then(parsers.re(r"App Engine creates a task storage .* as follows " + QUOTED.format("pattern")))
def task_storage(context: Context, pattern: str) -> None:
    folder = _storage(context["server"]) / f"task-{context['answer'].json()['id']}-def"
    assert folder.is_dir()
    context["folder"] = folder


@then(parsers.re(r"App Engine stores the task descriptor in the task storage .*"))
def descriptor_stored(context: Context) -> None:
    with zipfile.ZipFile(context["bundle"]) as archive:
        assert (context["folder"] / "descriptor.yml").read_bytes() == archive.read("descriptor.yml")


@then(parsers.re(r"App Engine pushes the docker image to the Registry service with an .*"))
def image_named(context: Context) -> None:
    name = f"{context['namespace'].replace('.', '/')}:{context['version']}".lower()
    config = json.loads(_tar_files(context)["manifest.json"])[0]["Config"]
    digest = config.rsplit("/", 1)[-1].removesuffix(".json")
    with closing(docker.from_env()) as client:
        assert client.images.get(name).id == f"sha256:{digest}"


@then(parsers.re(r'App Engine returns an HTTP "(?P<status>\d+)" OK response'))
def answered(context: Context, status: str) -> None:
    assert context["answer"].status_code == int(status), context["answer"].text


@then(parsers.re(r"App Engine cleans up any temporary file created during the process.*"))
def cleaned_up(context: Context) -> None:
    uploads = _storage(context["server"]) / "uploads"
    assert not uploads.exists() or not list(uploads.iterdir())


@then(parsers.re(r"App Engine reads .* from the task descriptor"))
def read_descriptor(context: Context) -> None:
    """Shown by the answer: the duplicate is found by the descriptor's namespace and version."""


@then(
    parsers.re(
        r"App Engine returns an HTTP \"409\" conflict error because this version of the task exists already"
    )
)
def conflict(context: Context) -> None:
    answer = context["answer"]
    assert answer.status_code == 409, answer.text
    assert answer.json()["errorCode"] == "APPE-internal-task-exists"


@then(parsers.re(r"App Engine does not create or overwrite the task .*"))
def nothing_overwritten(context: Context) -> None:
    assert _state(context["server"]) == context["before"]


@then(
    parsers.re(r"App Engine fails to validate the task descriptor for task .* against the descriptor schema")
)
def schema_refused(context: Context) -> None:
    body = context["answer"].json()
    assert body["errorCode"] == "APPE-internal-bundle-schema-validation-error", body
    assert body["details"]["type"] == "batch"


@then(
    parsers.re(
        r'App Engine returns an HTTP "400" bad request error because the descriptor is incorrectly structured'
    )
)
def bad_request(context: Context) -> None:
    assert context["answer"].status_code == 400, context["answer"].text


@then(
    parsers.re(
        r"App Engine does not create the .* and related data in the File storage, registry and database "
        r"services"
    )
)
def nothing_created(context: Context) -> None:
    assert _state(context["server"]) == context["before"]
