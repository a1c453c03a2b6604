"""App Engine tasks: registered from a bundle, read, deleted; their wire shapes (Cytomine's HEAD).

A task is a row of ``app_engine_tasks`` (its descriptor's document in ``descriptor``), a folder
``task-<id>-def/`` (``descriptor.yml`` as uploaded, ``logo.png``, ``image.tar``: the image, for nodes
that load it themselves) and a named image on the container engine (:mod:`runyard.appengine.images`),
pushed to the registry when the server has one (``registry_image``: nodes pull it).
Registering one leaves nothing behind when it fails: the row, the folder and the name are made
together (a folder a server's death left is removed by a later upload); the unique (namespace,
version) constraint decides between two uploads of one task, and the image is named only once its
row is in (a duplicate never renames the first task's image).

Every user sees every task; only its uploader or an admin deletes it, its runs (rows and folders)
with it.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from runyard.appengine import images, runs
from runyard.appengine.bundles import Bundle, read_bundle
from runyard.appengine.descriptor import Descriptor, Parameter, descriptor_of
from runyard.appengine.errors import TASK_NOT_FOUND, AppEngineError
from runyard.appengine.storage import DESCRIPTOR, LOGO, Storage, checked_uuid
from runyard.auth import User
from runyard.store.schema import app_engine_runs, app_engine_tasks

log = logging.getLogger(__name__)

TASK_EXISTS = "APPE-internal-task-exists"
LOGO_NOT_FOUND = "APPE-internal-logo-not-found"
IMAGE_TAR = "image.tar"
"""The image tar in a task's folder (names stripped: see :mod:`runyard.appengine.bundles`)."""
UPLOADS = "uploads"
"""Folder of the storage where bundles are read (one temporary folder per upload)."""
STALE_UPLOAD = 6 * 3600
"""Seconds after which an upload's folder is taken for one a server's death left behind."""
#: Parameter ids are derived from the task's: stable, and unique across tasks.
_PARAMETERS = uuid.UUID("5f0e9a52-6c1b-4c55-9a43-1d3c1f1e7a10")

TaskRow = Mapping[Any, Any]
"""A row of ``app_engine_tasks`` (a ``RowMapping``, or a dict of its columns)."""
TaskRef = str | tuple[str, str]
"""A task's id (a UUID), or its (namespace, version)."""


def register(
    engine: sa.Engine,
    storage: Storage,
    archive: Path | IO[bytes],
    owner: str,
    *,
    max_bytes: int,
    registry: images.Registry | None = None,
) -> sa.RowMapping:
    """Register the task of the bundle zip ``archive`` uploaded by ``owner``; its row.

    ``max_bytes`` bounds what the bundle's entries expand to. With a ``registry`` the image is pushed
    there too, and the row records the reference. Errors (``AppEngineError``): 400
    for a bundle refused, 409 ``APPE-internal-task-exists``, 500 when the engine fails (500
    ``APPE-registry-push-failed`` when the push does: nothing is kept).
    """
    uploads = storage.base / UPLOADS
    uploads.mkdir(parents=True, exist_ok=True)
    _sweep(uploads)
    _sweep_task_folders(engine, storage)
    work = Path(tempfile.mkdtemp(prefix="bundle-", dir=uploads))
    try:
        bundle = read_bundle(archive, work, max_bytes=max_bytes)
        return _register(engine, storage, bundle, owner, registry)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _sweep(uploads: Path) -> None:
    """Remove what uploads cut short by a server's death left (folders older than ``STALE_UPLOAD``)."""
    stale = time.time() - STALE_UPLOAD
    for entry in uploads.iterdir():
        with contextlib.suppress(OSError):
            if entry.lstat().st_mtime < stale:
                shutil.rmtree(entry, ignore_errors=True)


def _sweep_task_folders(engine: sa.Engine, storage: Storage) -> None:
    """Remove the task folders of no task: a server died between writing one (its image tar: the
    bundle's size) and committing its row. Only those older than ``STALE_UPLOAD``: a younger one may be
    an upload under way, of this server or of another on the same database."""
    stale = time.time() - STALE_UPLOAD
    folders: dict[str, Path] = {}
    for entry in storage.base.glob("task-*-def"):
        with contextlib.suppress(OSError):
            if entry.lstat().st_mtime < stale:
                folders[entry.name.removeprefix("task-").removesuffix("-def")] = entry
    ids, known = list(folders), set[str]()
    with engine.connect() as connection:
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            column = app_engine_tasks.c.id
            known.update(connection.execute(sa.select(column).where(column.in_(chunk))).scalars())
    for task_id, folder in folders.items():
        if task_id not in known:
            log.warning("App Engine: removing %s, a task folder of no task (an upload cut short)", folder)
            shutil.rmtree(folder, ignore_errors=True)


def _register(
    engine: sa.Engine, storage: Storage, bundle: Bundle, owner: str, registry: images.Registry | None
) -> sa.RowMapping:
    descriptor = bundle.descriptor
    with engine.connect() as connection:
        _refuse_duplicate(connection, descriptor.namespace, descriptor.version)
    name = images.image_name(descriptor.namespace, descriptor.version, bundle.tar_name)
    reference = None if registry is None else images.registry_reference(registry, name)
    task_id = str(uuid.uuid4())
    folder = storage.task_folder(task_id)
    naming = images.naming(bundle.image_id)
    loaded = tagged = committed = False
    try:
        with naming:  # from its load to its name, no other upload's failure removes the image
            loaded = images.load(bundle.tar, bundle.image_id)
            folder.mkdir(parents=True)
            (folder / DESCRIPTOR).write_bytes(bundle.descriptor_text)
            if bundle.logo is not None:
                (folder / LOGO).write_bytes(bundle.logo)
            bundle.tar.replace(folder / IMAGE_TAR)
            try:
                with engine.begin() as connection:
                    connection.execute(
                        app_engine_tasks.insert().values(
                            id=task_id,
                            namespace=descriptor.namespace,
                            version=descriptor.version,
                            name=descriptor.name,
                            name_short=descriptor.name_short,
                            description=descriptor.description or "",
                            descriptor=descriptor.document,
                            image=name,
                            image_id=bundle.image_id,
                            has_logo=bundle.logo is not None,
                            owner=owner,
                            created_at=time.time(),
                        )
                    )
                    named = _claim_name(connection, task_id, name, bundle.image_id)
                    row = _select(connection, app_engine_tasks.c.id == task_id)
            except sa.exc.IntegrityError:
                raise _exists(descriptor.namespace, descriptor.version) from None
            committed = True
            # Named once the row is in: a server killed in between leaves a task whose image has no name
            # yet (its runs take the image by id; the next start names it: name_images), never a name of
            # no task, which no later upload of the task could take back.
            if not named:
                images.tag(bundle.image_id, name)
                tagged = True
        if reference is not None:
            # pushed once the row decided between two uploads of the task (the loser never pushes over the
            # winner's image), outside its transaction (a push may take minutes); until recorded, the
            # task's runs download the tar
            assert registry is not None
            images.push(bundle.image_id, reference, registry.auth())
            with engine.begin() as connection:
                where = app_engine_tasks.c.id == task_id
                connection.execute(app_engine_tasks.update().where(where).values(registry_image=reference))
                row = _select(connection, where)
    except BaseException as error:
        if committed:
            try:
                _unregister(engine, storage, task_id)
            except Exception:  # the upload's own error is the answer
                log.exception("App Engine: the task %s of a failed upload could not be removed", task_id)
        shutil.rmtree(folder, ignore_errors=True)
        with naming:
            if tagged:
                with contextlib.suppress(AppEngineError):
                    images.untag(name)
            # a duplicate's image is the first upload's, likely, perhaps about to be named: left alone
            duplicate = isinstance(error, AppEngineError) and error.code == TASK_EXISTS
            if loaded and not duplicate:
                images.remove_unnamed(bundle.image_id)
        raise
    assert row is not None
    return row


def _unregister(engine: sa.Engine, storage: Storage, task_id: str) -> None:
    """Remove the row of a task whose upload failed after it was committed (its push), with the runs
    made of it meanwhile."""
    with engine.begin() as connection:
        query = sa.select(app_engine_runs).where(app_engine_runs.c.task_id == task_id)
        for run in connection.execute(query).mappings().all():
            runs.delete_run(connection, storage, run)
        connection.execute(app_engine_tasks.delete().where(app_engine_tasks.c.id == task_id))


def _refuse_duplicate(connection: sa.Connection, namespace: str, version: str) -> None:
    query = sa.select(app_engine_tasks.c.id).where(
        app_engine_tasks.c.namespace == namespace, app_engine_tasks.c.version == version
    )
    if connection.execute(query).first() is not None:
        raise _exists(namespace, version)


def _exists(namespace: str, version: str) -> AppEngineError:
    return AppEngineError(409, TASK_EXISTS, f"task {namespace} version {version} already exists")


def _claim_name(connection: sa.Connection, task_id: str, name: str, image_id: str) -> bool:
    """Refuse an image name another task has (namespaces that differ only in case) or that names
    another image on the engine (which naming it would take over: runyard's own, say); whether the
    name is the image's already (another server on the same engine registered the same task)."""
    other = connection.execute(
        sa.select(app_engine_tasks.c.namespace, app_engine_tasks.c.version).where(
            app_engine_tasks.c.image == name, app_engine_tasks.c.id != task_id
        )
    ).first()
    if other is not None:
        raise AppEngineError(
            409, TASK_EXISTS, f"the image name {name} is the task {other.namespace} version {other.version}'s"
        )
    current = images.image_of(name)
    if current is not None and current != image_id:
        raise AppEngineError(
            400, images.IMAGE_VALIDATION, f"the image name {name} names another image on the container engine"
        )
    return current is not None


def _select(connection: sa.Connection, condition: sa.ColumnElement[bool]) -> sa.RowMapping | None:
    return connection.execute(sa.select(app_engine_tasks).where(condition)).mappings().first()


def get_task(connection: sa.Connection, task: TaskRef) -> sa.RowMapping:
    """The task ``task`` (id, or (namespace, version)); 404 ``APPE-internal-task-not-found``, and 400
    for an id that is not a UUID."""
    if isinstance(task, str):
        row = _select(connection, app_engine_tasks.c.id == checked_uuid(task, "task id"))
        missing = f"task {task} not found"
    else:
        namespace, version = task
        row = _select(
            connection,
            sa.and_(app_engine_tasks.c.namespace == namespace, app_engine_tasks.c.version == version),
        )
        missing = f"task {namespace} version {version} not found"
    if row is None:
        raise AppEngineError(404, TASK_NOT_FOUND, missing)
    return row


def list_tasks(connection: sa.Connection) -> Sequence[sa.RowMapping]:
    query = sa.select(app_engine_tasks).order_by(app_engine_tasks.c.created_at, app_engine_tasks.c.id)
    return connection.execute(query).mappings().all()


def task_descriptor(row: TaskRow) -> Descriptor:
    """The descriptor of the task ``row``."""
    return descriptor_of(row["descriptor"])


def delete_task(engine: sa.Engine, storage: Storage, task: TaskRef, user: User) -> None:
    """Delete ``task``, its runs (rows and folders; an unended run's job killed, see
    :func:`runyard.appengine.runs.delete_run`), its folder and its image's name. Only its uploader or
    an admin may: 403 ``APPE-internal-forbidden`` for others."""
    with engine.begin() as connection:
        row = get_task(connection, task)
        if row["owner"] != user.name and not user.is_admin:
            raise AppEngineError(
                403, "APPE-internal-forbidden", "only the task's uploader or an admin may delete it"
            )
        query = sa.select(app_engine_runs).where(app_engine_runs.c.task_id == row["id"])
        for run in connection.execute(query).mappings().all():
            runs.delete_run(connection, storage, run)  # an unended one's job killed first
        connection.execute(app_engine_tasks.delete().where(app_engine_tasks.c.id == row["id"]))
    shutil.rmtree(storage.task_folder(row["id"]), ignore_errors=True)
    # the registry's name too, where a node on this engine pulled it; the registry keeps the image
    with images.naming(row["image_id"]):  # another upload of the image may be about to name it
        for name in filter(None, (row["image"], row["registry_image"])):
            try:
                images.untag(name)
            except AppEngineError as error:  # the task is gone: the name stays until removed by hand
                log.warning("App Engine: task %s deleted, its image name %s kept: %s", row["id"], name, error)


def name_images(engine: sa.Engine) -> None:
    """Give each task's image its name where the engine has the image without it: a server killed between
    committing an upload's task and naming its image left it so (called as the server starts). A name
    that is another image's is left alone, and logged."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(app_engine_tasks.c.image, app_engine_tasks.c.image_id).order_by(
                app_engine_tasks.c.created_at
            )
        ).all()
    try:
        for name, image_id in rows:
            with images.naming(image_id):
                current = images.image_of(name)
                if current is None and images.image_of(image_id) is not None:
                    images.tag(image_id, name)
                    log.info("App Engine: image %s named %s again (an upload cut short)", image_id, name)
                elif current is not None and current != image_id:
                    log.warning("App Engine: the image name %s is another image's than its task's", name)
    except AppEngineError as error:  # no engine here: the names wait for a start that has one
        log.warning("App Engine: task images not checked for their names: %s", error.message)


def descriptor_file(storage: Storage, row: TaskRow) -> Path:
    return storage.task_folder(row["id"]) / DESCRIPTOR


def logo_file(storage: Storage, row: TaskRow) -> Path:
    """The task's logo; 404 ``APPE-internal-logo-not-found`` when it has none."""
    path = storage.task_folder(row["id"]) / LOGO
    if not row["has_logo"] or not path.is_file():
        raise AppEngineError(404, LOGO_NOT_FOUND, "logo not found")
    return path


def image_tar(storage: Storage, row: TaskRow) -> Path:
    """The task's image tar (names stripped), for nodes that load the image themselves."""
    return storage.task_folder(row["id"]) / IMAGE_TAR


# Wire shapes (Cytomine HEAD): TaskDescription, TaskInput, TaskOutput.


def task_out(row: TaskRow) -> dict[str, Any]:
    """TaskDescription: ``id``, ``name``, ``namespace``, ``version``, ``description``, ``authors``."""
    document = row["descriptor"]
    return {
        "id": row["id"],
        "name": row["name"],
        "namespace": row["namespace"],
        "version": row["version"],
        "description": row["description"],
        "authors": [_author_out(author) for author in document.get("authors") or ()],
    }


def _author_out(author: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "firstName": author.get("first_name"),
        "lastName": author.get("last_name"),
        "organization": author.get("organization"),
        "email": author.get("email"),
        "isContact": bool(author.get("is_contact", False)),
    }


def inputs_out(row: TaskRow) -> list[dict[str, Any]]:
    """TaskInput list: ``id``, ``default`` (a string: ``"null"`` when none), ``name``,
    ``display_name`` (snake, as upstream), ``description``, ``optional``, ``type``."""
    descriptor = task_descriptor(row)
    return [
        {
            "id": _parameter_id(row["id"], "inputs", parameter.name),
            "default": default_text(parameter.default),
            "name": parameter.name,
            "display_name": parameter.display_name,
            "description": parameter.description,
            "optional": parameter.optional,
            "type": parameter.type.wire(),
        }
        for parameter in descriptor.inputs.values()
    ]


def outputs_out(row: TaskRow) -> list[dict[str, Any]]:
    """TaskOutput list: ``id``, ``name``, ``displayName`` (camel), ``description``, ``optional``
    (always false, as upstream), ``type``, ``derivedFrom`` (an input's name, or null)."""
    descriptor = task_descriptor(row)
    return [_output_out(row["id"], parameter) for parameter in descriptor.outputs.values()]


def _output_out(task_id: str, parameter: Parameter) -> dict[str, Any]:
    derived = parameter.derived_from
    return {
        "id": _parameter_id(task_id, "outputs", parameter.name),
        "name": parameter.name,
        "displayName": parameter.display_name,
        "description": parameter.description,
        "optional": False,
        "type": parameter.type.wire(),
        "derivedFrom": derived.removeprefix("inputs/") if derived else None,
    }


def _parameter_id(task_id: str, side: str, name: str) -> str:
    return str(uuid.uuid5(_PARAMETERS, f"{task_id}/{side}/{name}"))


def default_text(value: Any) -> str:
    """A default as upstream stores and answers it (a string; ``"null"`` when there is none)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        text: str = value.isoformat()
        return text.replace("+00:00", "Z")
    return str(value)
