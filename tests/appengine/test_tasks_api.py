"""``/app-engine/v1/tasks…`` against a live server and a real Docker daemon: every corpus bundle
uploads (and the negative ones fail with nothing stored), the wire shapes, deletion, and hostile
uploads and callers."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
import sqlalchemy as sa
import yaml

from appengine.conftest import BUNDLES, CORPUS
from appengine.helpers import (
    app_engine,
    bundle_entries,
    corpus_bundle,
    docker_host,
    image_tar_of,
    make_zip,
    renamed_bundle,
    upload,
    upload_answer,
)
from runyard.appengine import images, tasks
from runyard.appengine.errors import AppEngineError
from runyard.appengine.storage import Storage
from runyard.store.database import connect
from runyard.store.schema import app_engine_runs, app_engine_tasks
from support.server import LiveServer, live_server

__all__ = ["docker_host"]

POSITIVE = sorted(
    path.name
    for path in BUNDLES.glob("*.zip")
    if path.name not in {"no_version.zip", "unexpected_path.zip", "wrong_name.zip"}
)
Uploaded = dict[str, dict[str, Any]]
"""Bundle file name → the TaskDescription its upload answered."""
BOOLEAN_IMAGE = "sha256:93141a27328b99509f2c994f37f81097edaa5bebe5e60be9f7830b4ac705abc0"
"""The image of the boolean bundle (and of datetime's), which renamed bundles carry by default."""
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def uploaded(server: LiveServer, docker_host: str) -> Uploaded:
    """Every positive corpus bundle, uploaded once by the admin: bundle name → TaskDescription."""
    return {name: upload(server, server.admin_token, corpus_bundle(name)) for name in POSITIVE}


def _engine() -> Any:
    return closing(docker.from_env())


def _state(server: LiveServer) -> tuple[list[str], set[str], set[str]]:
    """Task ids listed, task folders, leftovers of uploads."""
    with app_engine(server) as client:
        listed = [task["id"] for task in client.get("/tasks").json()]
    storage = server.data_dir / "app-engine"
    folders = {path.name for path in storage.glob("task-*-def")}
    uploads = storage / "uploads"
    leftovers = {path.name for path in uploads.iterdir()} if uploads.exists() else set()
    return listed, folders, leftovers


def _manifest_config(bundle: Path) -> str:
    _, tar = image_tar_of(bundle.name.removesuffix(".zip"))
    with tarfile.open(fileobj=io.BytesIO(tar)) as image:
        stream = image.extractfile("manifest.json")
        assert stream is not None
        config: str = json.load(stream)[0]["Config"]
    return "sha256:" + config.rsplit("/", 1)[-1].removesuffix(".json")


# Every corpus bundle


def test_every_corpus_bundle_uploads_named_by_its_descriptor(server: LiveServer, uploaded: Uploaded) -> None:
    assert len(uploaded) == 14
    with _engine() as engine:
        for name, task in uploaded.items():
            document = yaml.safe_load(bundle_entries(corpus_bundle(name))["descriptor.yml"])
            assert task["namespace"] == document["namespace"] and task["version"] == document["version"]
            assert str(uuid.UUID(task["id"])) == task["id"]
            repository = document["namespace"].replace(".", "/").lower()
            image = engine.images.get(f"{repository}:{document['version']}")
            assert image.id == _manifest_config(corpus_bundle(name))
            # the tags inside the tars (local-image-name:latest...) are never applied
            assert not [tag for tag in image.tags if "local-image-name" in tag or "localhost:5000" in tag]
    folder = server.data_dir / "app-engine" / f"task-{uploaded[POSITIVE[0]]['id']}-def"
    assert sorted(path.name for path in folder.iterdir()) == ["descriptor.yml", "image.tar"]


def test_the_corpus_expectations_of_uploads(uploaded: Uploaded) -> None:
    """``expected/*.expected.json``: the status each bundle's upload answers and the image name."""
    expected = sorted((CORPUS / "expected").glob("*.expected.json"))
    assert len(expected) >= 6
    with _engine() as engine:
        for path in expected:
            case = json.loads(path.read_text())
            name, upload_case = case["bundle"]["file"], case["upload"]
            if upload_case["http_status"] == 200:
                assert name in uploaded
                image = engine.images.get(upload_case["image_name"])
                assert image.id == _manifest_config(corpus_bundle(name))
            else:
                assert name not in uploaded and upload_case["http_status"] == 400


def test_the_old_docker_save_layout_and_a_dashed_namespace(uploaded: Uploaded) -> None:
    task = uploaded["test_custom_image_location_task.zip"]
    assert task["namespace"] == "com.cytomine.app-engine.tasks.toy.add-integers"
    with _engine() as engine:
        image = engine.images.get("com/cytomine/app-engine/tasks/toy/add-integers:0.1.0")
    assert image.id == "sha256:14216b328cd62110f6922e44b2f81053b633edda399011cf6fbd566d6365a52c"


def test_the_image_tar_is_kept_without_the_names_it_carried(server: LiveServer, uploaded: Uploaded) -> None:
    task = uploaded["com.cytomine.dummy.identity.boolean-1.0.0.zip"]
    kept = server.data_dir / "app-engine" / f"task-{task['id']}-def" / "image.tar"
    with tarfile.open(kept) as image:
        names = image.getnames()
        manifest_file = image.extractfile("manifest.json")
        index_file = image.extractfile("index.json")
        assert manifest_file is not None and index_file is not None
        manifest, index = json.load(manifest_file), json.load(index_file)
    assert "repositories" not in names
    assert manifest[0]["RepoTags"] is None
    assert manifest[0]["Config"].endswith(BOOLEAN_IMAGE.removeprefix("sha256:"))
    for entry in index["manifests"]:
        assert "io.containerd.image.name" not in entry.get("annotations", {})


def test_list_and_get_answer_task_descriptions(server: LiveServer, uploaded: Uploaded) -> None:
    _, token = server.new_user()
    with app_engine(server, token) as client:  # every user sees every task
        listed = {task["id"]: task for task in client.get("/tasks").json()}
        for task in uploaded.values():
            assert listed[task["id"]] == task
            assert client.get(f"/tasks/{task['id']}").json() == task
            assert client.get(f"/tasks/{task['namespace']}/{task['version']}").json() == task
    task = uploaded["com.cytomine.dummy.identity.boolean-1.0.0.zip"]
    assert set(task) == {"id", "name", "namespace", "version", "description", "authors"}
    assert task["authors"] and set(task["authors"][0]) == {
        "firstName",
        "lastName",
        "organization",
        "email",
        "isContact",
    }


def test_inputs_and_outputs_wire_shapes(server: LiveServer, uploaded: Uploaded) -> None:
    task = uploaded["com.cytomine.dummy.identity.integer.collection-0.1.0.zip"]
    with app_engine(server) as client:
        inputs = client.get(f"/tasks/{task['id']}/inputs").json()
        outputs = client.get(f"/tasks/{task['namespace']}/{task['version']}/outputs").json()
        assert client.get(f"/tasks/{task['namespace']}/{task['version']}/inputs").json() == inputs
        assert client.get(f"/tasks/{task['id']}/outputs").json() == outputs
    [parameter] = inputs
    assert set(parameter) == {"id", "default", "name", "display_name", "description", "optional", "type"}
    assert parameter["name"] == "input" and parameter["default"] == "null" and parameter["optional"] is False
    assert parameter["type"]["id"] == "array" and parameter["type"]["subType"]["id"] == "integer"
    [output] = outputs
    assert set(output) == {"id", "name", "displayName", "description", "optional", "type", "derivedFrom"}
    assert output["derivedFrom"] == "input" and output["optional"] is False
    assert parameter["id"] != output["id"]
    addition = uploaded["com.cytomine.dummy.arithmetic.integer.addition-1.0.0.zip"]
    with app_engine(server) as client:
        names = [item["name"] for item in client.get(f"/tasks/{addition['id']}/inputs").json()]
        [out] = client.get(f"/tasks/{addition['id']}/outputs").json()
    assert names == ["a", "b"] and out["derivedFrom"] is None and out["type"] == {"id": "integer"}


def test_a_default_is_answered_as_text(server: LiveServer, docker_host: str) -> None:
    def defaults(document: dict[str, Any]) -> None:
        document["inputs"]["input"]["default"] = True
        document["inputs"]["input"]["optional"] = True

    bundle, namespace = renamed_bundle(change=defaults)
    upload(server, server.admin_token, bundle)
    with app_engine(server) as client:
        [parameter] = client.get(f"/tasks/{namespace}/1.0.0/inputs").json()
    assert parameter["default"] == "true" and parameter["optional"] is True


def test_descriptor_download_is_the_uploaded_file(server: LiveServer, uploaded: Uploaded) -> None:
    name = "com.cytomine.dummy.identity.string-1.0.0.zip"
    task = uploaded[name]
    with app_engine(server) as client:
        by_id = client.get(f"/tasks/{task['id']}/descriptor.yml")
        by_version = client.get(f"/tasks/{task['namespace']}/{task['version']}/descriptor.yml")
    for answer in (by_id, by_version):
        assert answer.status_code == 200
        assert answer.content == bundle_entries(corpus_bundle(name))["descriptor.yml"]
        assert answer.headers["content-type"] == "application/octet-stream"
        assert answer.headers["content-disposition"] == 'attachment; filename="descriptor.yml"'


def test_logo(server: LiveServer, uploaded: Uploaded) -> None:
    task = uploaded["com.cytomine.dummy.identity.string-1.0.0.zip"]
    with app_engine(server) as client:
        missing = client.get(f"/tasks/{task['namespace']}/{task['version']}/logo")
        assert missing.status_code == 404
        assert missing.json()["errorCode"] == "APPE-internal-logo-not-found"
        bundle, namespace = renamed_bundle(extra={"logo.png": PNG})
        upload(server, server.admin_token, bundle)
        logo = client.get(f"/tasks/{namespace}/1.0.0/logo")
    assert logo.status_code == 200 and logo.content == PNG and logo.headers["content-type"] == "image/png"
    assert logo.headers["x-content-type-options"] == "nosniff"
    assert logo.headers["content-security-policy"] == "sandbox"


# Refused uploads leave nothing


def _refused(server: LiveServer, bundle: Path | bytes, status: int, code: str) -> str:
    before = _state(server)
    answer = upload_answer(server, server.admin_token, bundle)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["errorCode"] == code, body
    assert _state(server) == before
    message: str = body["message"]
    return message


@pytest.mark.parametrize("name", ["no_version.zip", "unexpected_path.zip", "wrong_name.zip"])
def test_the_negative_corpus_bundles_are_refused(server: LiveServer, docker_host: str, name: str) -> None:
    _refused(server, corpus_bundle(name), 400, "APPE-internal-bundle-schema-validation-error")


def test_a_duplicate_is_refused_and_changes_nothing(server: LiveServer, uploaded: Uploaded) -> None:
    _refused(server, corpus_bundle(POSITIVE[0]), 409, "APPE-internal-task-exists")


def test_not_a_zip(server: LiveServer, docker_host: str) -> None:
    seven_zip = b"7z\xbc\xaf\x27\x1c" + bytes(range(256)) * 4
    message = _refused(server, seven_zip, 400, "APPE-internal-bundle-validation-error")
    assert "unknown task bundle archive format" in message
    _refused(server, b"garbage", 400, "APPE-internal-bundle-validation-error")


def test_a_bundle_without_descriptor_or_without_tar(server: LiveServer, docker_host: str) -> None:
    entries = bundle_entries(corpus_bundle(POSITIVE[0]))
    tar = next(name for name in entries if name.endswith(".tar"))
    no_descriptor = {name: data for name, data in entries.items() if name != "descriptor.yml"}
    message = _refused(server, make_zip(no_descriptor), 400, "APPE-internal-bundle-validation-error")
    assert "descriptor" in message
    no_tar = {name: data for name, data in entries.items() if name != tar}
    message = _refused(server, make_zip(no_tar), 400, "APPE-internal-bundle-validation-error")
    assert "image tar not found" in message
    nested = {"inner/descriptor.yml": entries["descriptor.yml"], tar: entries[tar]}
    _refused(server, make_zip(nested), 400, "APPE-internal-bundle-validation-error")


def test_a_tar_that_is_not_an_image(server: LiveServer, docker_host: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"not an image"
        member = tarfile.TarInfo("hello.txt")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    bundle, _ = renamed_bundle()
    entries = {name: data for name, data in bundle_entries(bundle).items() if not name.endswith(".tar")}
    entries["image.tar"] = buffer.getvalue()
    message = _refused(server, make_zip(entries), 400, "APPE-internal-bundle-image-validation-error")
    assert "manifest.json" in message


def test_a_tar_whose_config_does_not_match_its_digest(server: LiveServer, docker_host: str) -> None:
    name, tar = image_tar_of()
    changed = _rewritten_tar(tar, {f"blobs/sha256/{BOOLEAN_IMAGE.removeprefix('sha256:')}": b"{}"})
    bundle, _ = renamed_bundle()
    entries = bundle_entries(bundle) | {name: changed}
    _refused(server, make_zip(entries), 400, "APPE-internal-bundle-image-validation-error")


def test_a_tar_claiming_an_image_the_engine_has_must_hold_it(server: LiveServer, uploaded: Uploaded) -> None:
    """The boolean image is on the engine: a tar naming its config without its layers (or with
    other ones) does not get that image named as a task of its uploader."""
    name, tar = image_tar_of()
    with tarfile.open(fileobj=io.BytesIO(tar)) as image:
        stream = image.extractfile("manifest.json")
        assert stream is not None
        manifest = json.load(stream)
    layer = manifest[0]["Layers"][0]
    bundle, namespace = renamed_bundle()
    for changed in (
        _rewritten_tar(tar, {layer: b"\x00" * 1024}),
        _rewritten_tar(tar, {"manifest.json": json.dumps([{**manifest[0], "Layers": []}]).encode()}),
    ):
        entries = bundle_entries(bundle) | {name: changed}
        _refused(server, make_zip(entries), 400, "APPE-internal-bundle-image-validation-error")
    with _engine() as engine, pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(f"{namespace.replace('.', '/')}:1.0.0")


def test_a_descriptor_the_schema_refuses(server: LiveServer, docker_host: str) -> None:
    def unnamed(document: dict[str, Any]) -> None:
        del document["name"]
        document["inputs"]["input"]["type"] = "complex"

    bundle, _ = renamed_bundle(change=unnamed)
    before = _state(server)
    answer = upload_answer(server, server.admin_token, bundle)
    assert answer.status_code == 400
    body = answer.json()
    assert body["errorCode"] == "APPE-internal-bundle-schema-validation-error"
    assert body["details"]["type"] == "batch" and body["details"]["errors"]
    assert _state(server) == before
    not_yaml = make_zip({"descriptor.yml": b"{ not: [yaml", "image.tar": image_tar_of()[1]})
    answer = upload_answer(server, server.admin_token, not_yaml)
    assert answer.status_code == 400 and answer.json()["errorCode"].startswith("APPE-internal-")
    assert _state(server) == before


def test_what_a_dead_server_left_in_uploads_is_swept(server: LiveServer, docker_host: str) -> None:
    """Upload folders, and task folders of no task (a kill between writing one and its row), once
    older than 6 hours; a task's own folder stays, and so does a young one (an upload under way)."""
    storage = server.data_dir / "app-engine"
    stale = storage / "uploads" / "bundle-left-by-a-kill"
    stale.mkdir(parents=True)
    (stale / "bundle-image.tar").write_bytes(b"x" * 1024)
    orphan, young = (storage / f"task-{uuid.uuid4()}-def" for _ in range(2))
    for folder in (orphan, young):
        folder.mkdir()
        (folder / "image.tar").write_bytes(b"x" * 1024)
    kept = storage / f"task-{upload(server, server.admin_token, renamed_bundle()[0])['id']}-def"
    for folder in (stale, orphan, kept):
        os.utime(folder, (time.time() - 7 * 3600,) * 2)
    upload(server, server.admin_token, renamed_bundle()[0])
    assert not stale.exists() and not orphan.exists()
    assert (kept / "image.tar").exists() and (young / "image.tar").exists()
    (young / "image.tar").unlink()
    young.rmdir()


# Hostile uploads and callers


def test_entries_that_name_paths_outside_the_bundle(server: LiveServer, docker_host: str) -> None:
    bundle, _ = renamed_bundle()
    entries = bundle_entries(bundle)
    for evil in ("../../escape.tar", "/etc/evil.tar", "..\\evil.tar", "a/../../b/logo.png"):
        hostile = entries | {evil: b"x"}
        message = _refused(server, make_zip(hostile), 400, "APPE-internal-bundle-validation-error")
        assert "unsafe entry name" in message
    assert not (server.data_dir / "escape.tar").exists()


def test_a_zip_bomb_is_stopped_at_its_expanded_size(server: LiveServer, docker_host: str) -> None:
    bundle, _ = renamed_bundle()
    entries = bundle_entries(bundle)
    tar = next(name for name in entries if name.endswith(".tar"))
    # 300 MiB of zeros deflates to ~300 KiB: more than 4 x the 32 MiB uploads limit once expanded
    bomb = {name: data for name, data in entries.items() if name != tar} | {tar: bytes(300 * 2**20)}
    bomb_zip = make_zip(bomb, zipfile.ZIP_DEFLATED)
    message = _refused(server, bomb_zip, 413, "APPE-internal-bundle-validation-error")
    assert "max upload size" in message


def test_a_huge_or_fake_logo(server: LiveServer, docker_host: str) -> None:
    bundle, _ = renamed_bundle()
    entries = bundle_entries(bundle)
    huge = entries | {"logo.png": PNG + bytes(2 * 2**20)}
    huge_zip = make_zip(huge, zipfile.ZIP_DEFLATED)
    message = _refused(server, huge_zip, 400, "APPE-internal-bundle-validation-error")
    assert "logo.png" in message
    fake = entries | {"logo.png": b"GIF89a" + bytes(64)}
    _refused(server, make_zip(fake), 400, "APPE-internal-bundle-validation-error")


def test_a_tar_naming_another_tasks_image_does_not_take_it(server: LiveServer, docker_host: str) -> None:
    victim_bundle, victim = renamed_bundle()
    upload(server, server.admin_token, victim_bundle)
    victim_name = f"{victim.replace('.', '/')}:1.0.0"
    name, tar = image_tar_of("com.cytomine.dummy.identity.string-1.0.0")
    with tarfile.open(fileobj=io.BytesIO(tar)) as image:
        stream = image.extractfile("manifest.json")
        assert stream is not None
        manifest = json.load(stream)
    manifest[0]["RepoTags"] = [victim_name, "runyard/debian:12"]
    hostile = _rewritten_tar(tar, {"manifest.json": json.dumps(manifest).encode()})
    bundle, _ = renamed_bundle("com.cytomine.dummy.identity.string-1.0.0")
    entries = {n: d for n, d in bundle_entries(bundle).items() if not n.endswith(".tar")} | {name: hostile}
    _, token = server.new_user()
    upload(server, token, make_zip(entries))
    with _engine() as engine:
        assert engine.images.get(victim_name).id == BOOLEAN_IMAGE
        string_id = _manifest_config(corpus_bundle("com.cytomine.dummy.identity.string-1.0.0"))
        string_image = engine.images.get(string_id)
        assert victim_name not in string_image.tags and "runyard/debian:12" not in string_image.tags


def test_a_name_naming_another_image_on_the_engine_is_refused(server: LiveServer, docker_host: str) -> None:
    namespace = f"org.runyard.taken.n{uuid.uuid4().hex[:8]}"
    name = f"{namespace.replace('.', '/')}:1.0.0"
    upload(server, server.admin_token, renamed_bundle()[0])  # the boolean image is on the engine
    with _engine() as engine:
        engine.api.tag(BOOLEAN_IMAGE, name.split(":")[0], "1.0.0")
    try:
        bundle, _ = renamed_bundle("com.cytomine.dummy.identity.string-1.0.0", namespace=namespace)
        message = _refused(server, bundle, 400, "APPE-internal-bundle-image-validation-error")
        assert "names another image" in message
        with _engine() as engine:
            assert engine.images.get(name).id == BOOLEAN_IMAGE
    finally:
        with _engine() as engine:
            engine.api.remove_image(name)


def test_namespaces_that_differ_in_case_only_share_no_image_name(
    server: LiveServer, docker_host: str
) -> None:
    namespace = f"Org.Runyard.Case.N{uuid.uuid4().hex[:8]}"
    task = upload(server, server.admin_token, renamed_bundle(namespace=namespace)[0])
    assert task["namespace"] == namespace
    with _engine() as engine:
        assert engine.images.get(f"{namespace.replace('.', '/').lower()}:1.0.0").id == BOOLEAN_IMAGE
    lower, _ = renamed_bundle("com.cytomine.dummy.identity.string-1.0.0", namespace=namespace.lower())
    message = _refused(server, lower, 409, "APPE-internal-task-exists")
    assert namespace in message
    with _engine() as engine:  # still the first task's image
        assert engine.images.get(f"{namespace.replace('.', '/').lower()}:1.0.0").id == BOOLEAN_IMAGE


def test_two_uploads_of_one_task_at_once_make_one_task(server: LiveServer, docker_host: str) -> None:
    _race(server)


def test_two_uploads_at_once_on_postgresql(
    postgres_url: str, docker_host: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """PostgreSQL's second insert waits for the first's transaction: the name is given once."""
    with live_server(tmp_path_factory.mktemp("postgres"), postgres_url) as server:
        _race(server)


def _race(server: LiveServer) -> None:
    bundle, namespace = renamed_bundle()
    answers: list[httpx.Response] = []

    def post() -> None:
        answers.append(upload_answer(server, server.admin_token, bundle))

    threads = [threading.Thread(target=post) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [200, 409, 409]
    with app_engine(server) as client:
        listed = [task for task in client.get("/tasks").json() if task["namespace"] == namespace]
    assert len(listed) == 1
    folders = list((server.data_dir / "app-engine").glob("task-*-def"))
    assert f"task-{listed[0]['id']}-def" in {folder.name for folder in folders}


def test_unauthenticated_callers_are_refused(server: LiveServer) -> None:
    answer = httpx.get(f"{server.url}/app-engine/v1/tasks")
    assert answer.status_code == 401
    assert answer.json()["errorCode"].startswith("APPE-")


def test_a_task_id_that_is_not_a_uuid(server: LiveServer) -> None:
    with app_engine(server) as client:
        for path in ("/tasks/not-a-uuid", "/tasks/1/inputs", "/tasks/..%2E/outputs", "/tasks/x/logo"):
            answer = client.get(path)
            assert answer.status_code == 400, path
            assert answer.json()["errorCode"] == "APPE-internal-bundle-validation-error"
        # an encoded slash decodes into a path no route has
        assert client.get("/tasks/..%2F..%2Fetc/inputs").status_code == 404
        unknown = client.get(f"/tasks/{uuid.uuid4()}/descriptor.yml")
        assert unknown.status_code == 404 and unknown.json()["errorCode"] == "APPE-internal-task-not-found"


def test_a_request_without_a_file(server: LiveServer) -> None:
    with app_engine(server) as client:
        assert client.post("/tasks", json={}).json()["errorCode"] == "APPE-internal-not-multipart"
        fields = client.post("/tasks", data={"task": "x"}, files={})
        assert fields.status_code == 400


# Deletion


def test_only_the_uploader_or_an_admin_deletes_a_task(server: LiveServer, docker_host: str) -> None:
    _, alice = server.new_user()
    _, bob = server.new_user()
    bundle, namespace = renamed_bundle()
    task = upload(server, alice, bundle)
    name = f"{namespace.replace('.', '/')}:1.0.0"
    with app_engine(server, bob) as client:
        refused = client.delete(f"/tasks/{namespace}/1.0.0")
        assert refused.status_code == 403 and refused.json()["errorCode"] == "APPE-internal-forbidden"
        assert client.get(f"/tasks/{task['id']}").status_code == 200
    with app_engine(server, alice) as client:
        assert client.delete(f"/tasks/{namespace}/1.0.0").status_code == 200
        assert client.get(f"/tasks/{task['id']}").status_code == 404
        assert client.delete(f"/tasks/{namespace}/1.0.0").status_code == 404
    assert not (server.data_dir / "app-engine" / f"task-{task['id']}-def").exists()
    with _engine() as engine, pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(name)
    bundle, namespace = renamed_bundle()
    upload(server, alice, bundle)
    with app_engine(server) as client:  # the admin
        assert client.delete(f"/tasks/{namespace}/1.0.0").status_code == 200


def test_deleting_a_task_deletes_its_runs_keeps_a_shared_image(server: LiveServer, docker_host: str) -> None:
    first, first_namespace = renamed_bundle()
    second, second_namespace = renamed_bundle()
    _, alice = server.new_user()
    upload(server, alice, first)
    upload(server, alice, second)
    storage = server.data_dir / "app-engine"
    runs = []
    for token in (alice, server.admin_token):  # the uploader's run and another user's
        with app_engine(server, token) as client:
            created = client.post(f"/tasks/{first_namespace}/1.0.0/runs")
            assert created.status_code == 200, created.text
            run = created.json()["id"]
            provisioned = client.put(f"/task-runs/{run}/input-provisions/input", json={"value": True})
            assert provisioned.status_code == 200, provisioned.text
        assert (storage / f"task-run-inputs-{run}" / "input").read_text() == "true"
        runs.append(run)
    with app_engine(server, alice) as client:
        assert client.delete(f"/tasks/{first_namespace}/1.0.0").status_code == 200
    with app_engine(server) as client:
        for run in runs:
            assert client.get(f"/task-runs/{run}").status_code == 404
    engine = connect(f"sqlite:///{server.data_dir / 'runyard.db'}")
    try:
        with engine.connect() as connection:
            query = sa.select(app_engine_runs).where(app_engine_runs.c.id.in_(runs))
            assert connection.execute(query).first() is None
    finally:
        engine.dispose()
    for run in runs:
        assert not (storage / f"task-run-inputs-{run}").exists()
        assert not (storage / f"task-run-outputs-{run}").exists()
    with _engine() as docker_engine:  # the second task's name, on the same image, stays
        image = docker_engine.images.get(f"{second_namespace.replace('.', '/')}:1.0.0")
        assert image.id == BOOLEAN_IMAGE
        with pytest.raises(docker.errors.ImageNotFound):
            docker_engine.images.get(f"{first_namespace.replace('.', '/')}:1.0.0")


def test_a_task_whose_image_lost_its_name_gets_it_back_at_the_next_start(
    tmp_path: Path, docker_host: str
) -> None:
    """An upload names its task's image once the task is committed: a server killed in between leaves the
    image unnamed (runs take it by id), and the next start names it (never a name of no task, which no
    later upload of that task could take back)."""
    bundle, namespace = renamed_bundle()
    name, hold = f"{namespace.replace('.', '/')}:1.0.0", f"runyard-test-hold/{uuid.uuid4().hex}:1"
    with live_server(tmp_path / "data") as first:
        upload(first, first.admin_token, bundle)
    with _engine() as engine:
        engine.images.get(name).tag(hold)  # the image stays on the engine, unnamed by its task
        engine.images.remove(name)
        with live_server(tmp_path / "data") as second:
            try:
                deadline = time.monotonic() + 30
                while name not in engine.images.get(BOOLEAN_IMAGE).tags:
                    assert time.monotonic() < deadline, "the task's image was not named again"
                    time.sleep(0.1)
            finally:
                engine.images.remove(hold)
            with app_engine(second) as client:
                assert client.delete(f"/tasks/{namespace}/1.0.0").status_code == 200
        with pytest.raises(docker.errors.ImageNotFound):
            engine.images.get(name)


def _unique_image_tar() -> tuple[bytes, str]:
    """A ``docker save`` archive of an image no other test has (one file of random bytes, imported), and
    its id; the image is not left on the engine."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = os.urandom(64)
        member = tarfile.TarInfo("random.bin")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    with _engine() as engine:
        image_id: str = json.loads(engine.api.import_image_from_data(layer.getvalue()))["status"]
        saved = b"".join(engine.api.get_image(image_id))
        engine.images.remove(image_id)
    return saved, image_id


def test_an_upload_failing_right_after_loading_an_image_leaves_it_to_another_upload_of_it(
    tmp_path: Path, docker_host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two uploads of one image at once, the first failing right after it loaded the image: its clean-up
    removed the image while the second was about to name it (which then failed). Held from the load to
    the name, the image is now the second's. The interleaving is forced (in this process: the server's
    functions, a real engine and database), with waits that give up after 3 s rather than deadlock."""
    saved, image_id = _unique_image_tar()

    def bundle() -> tuple[Path, str]:
        data, namespace = renamed_bundle()
        entries = bundle_entries(data)
        entries[next(name for name in entries if name.endswith(".tar"))] = saved
        path = tmp_path / f"{namespace}.zip"
        path.write_bytes(make_zip(entries))
        return path, namespace

    (first, first_namespace), (second, second_namespace) = bundle(), bundle()
    loaded, checked, removed = threading.Event(), threading.Event(), threading.Event()
    real_load, real_remove, real_tag, real_claim = (
        images.load,
        images.remove_unnamed,
        images.tag,
        tasks._claim_name,
    )

    def load(tar: Path, wanted: str) -> bool:
        answer = real_load(tar, wanted)
        (loaded if threading.current_thread().name == "first" else checked).set()
        return answer

    def claim(connection: sa.Connection, task_id: str, name: str, wanted: str) -> bool:
        if threading.current_thread().name == "first":  # refused right after the load
            raise AppEngineError(400, images.IMAGE_VALIDATION, "the first upload fails here")
        return real_claim(connection, task_id, name, wanted)

    def remove_unnamed(wanted: str) -> None:
        checked.wait(3)  # the second upload has found the image loaded
        real_remove(wanted)
        removed.set()

    def tag(wanted: str, name: str) -> None:
        removed.wait(3)  # the first upload's clean-up has run
        real_tag(wanted, name)

    for module, attribute, replacement in (
        (images, "load", load),
        (images, "remove_unnamed", remove_unnamed),
        (images, "tag", tag),
        (tasks, "_claim_name", claim),
    ):
        monkeypatch.setattr(module, attribute, replacement)
    engine = connect(f"sqlite:///{tmp_path / 'runyard.db'}")
    storage = Storage(tmp_path / "app-engine")
    outcomes: dict[str, Any] = {}

    def upload_as(archive: Path) -> None:
        try:
            row = tasks.register(engine, storage, archive, "ada", max_bytes=2**30)
            outcomes[threading.current_thread().name] = row
        except AppEngineError as error:
            outcomes[threading.current_thread().name] = error

    try:
        threads = [threading.Thread(target=upload_as, args=(first,), name="first")]
        threads[0].start()
        assert loaded.wait(30)
        threads.append(threading.Thread(target=upload_as, args=(second,), name="second"))
        threads[1].start()
        for thread in threads:
            thread.join(60)
        assert isinstance(outcomes["first"], AppEngineError) and outcomes["first"].status == 400
        assert not isinstance(outcomes["second"], AppEngineError), outcomes["second"].message
        with _engine() as docker_engine:
            assert docker_engine.images.get(image_id).tags == [f"{second_namespace.replace('.', '/')}:1.0.0"]
        assert first_namespace not in {row["namespace"] for row in _rows(engine)}
    finally:
        with _engine() as docker_engine, contextlib.suppress(docker.errors.ImageNotFound):
            docker_engine.images.remove(image_id, force=True)
        engine.dispose()


def _rows(engine: sa.Engine) -> list[sa.RowMapping]:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(app_engine_tasks)).mappings())


def _rewritten_tar(tar: bytes, replaced: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(tar)) as source, tarfile.open(fileobj=out, mode="w") as target:
        for member in source:
            if member.name in replaced:
                data = replaced[member.name]
                copy = tarfile.TarInfo(member.name)
                copy.size = len(data)
                target.addfile(copy, io.BytesIO(data))
            else:
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _no_leftovers(server: LiveServer) -> Iterator[None]:
    yield
    uploads = server.data_dir / "app-engine" / "uploads"
    assert not uploads.exists() or not list(uploads.iterdir())
