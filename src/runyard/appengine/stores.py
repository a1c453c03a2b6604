"""App stores: where ``POST tasks/{namespace}/{version}/install`` downloads a task's bundle from.

An app store (Cytomine's AppStore: a name, a host, whether it is the default) serves bundles at
``{host}/api/v1/tasks/{namespace}/{version}/bundle.zip``. Stores are the server's: only an admin adds
one, removes one or makes one the default (the server fetches what they serve); every user lists them and
installs from the default one. An install downloads the bundle (at most ``app_engine_max_upload_bytes``,
no redirect followed: a store sends its own bytes), checks that its descriptor declares the task asked
for, then registers it as an upload by the installer would be (every check of an upload applies).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import sqlalchemy as sa

from runyard.appengine import images, tasks
from runyard.appengine.bundles import declared_task
from runyard.appengine.descriptor import schema
from runyard.appengine.errors import REQUEST_VALIDATION, AppEngineError
from runyard.appengine.storage import Storage
from runyard.store.schema import app_engine_stores
from runyard.tls import verification

INVALID_STORE = "APPE-internal-invalid-store-data"
STORE_NOT_FOUND = "APPE-internal-store"
STORE_EXISTS = "APPE-internal-store-exists"
DOWNLOAD_FAILED = "APPE-appstore-download-failure"
NO_DEFAULT = "APPE-appstore-no-default"
MAX_NAME = 255
MAX_HOST = 2048
TIMEOUT = httpx.Timeout(300.0, connect=10.0)
"""A bundle is gigabytes at most, from a store that may be far: 5 minutes between two reads."""

Row = Mapping[Any, Any]


def store_out(row: Row) -> dict[str, Any]:
    """AppStore: ``id``, ``name``, ``host``, ``defaultStore``."""
    return {
        "id": row["id"],
        "name": row["name"],
        "host": row["host"],
        "defaultStore": bool(row["is_default"]),
    }


def list_stores(connection: sa.Connection) -> list[sa.RowMapping]:
    query = sa.select(app_engine_stores).order_by(app_engine_stores.c.created_at, app_engine_stores.c.id)
    return list(connection.execute(query).mappings())


def default_store(connection: sa.Connection) -> sa.RowMapping:
    """The default store; 404 ``APPE-appstore-no-default`` when there is none."""
    row = (
        connection.execute(sa.select(app_engine_stores).where(app_engine_stores.c.is_default))
        .mappings()
        .first()
    )
    if row is None:
        raise AppEngineError(404, NO_DEFAULT, "no default app store: an admin adds one (POST stores)")
    return row


def add_store(engine: sa.Engine, body: Any) -> sa.RowMapping:
    """Record the store ``body`` describes (``name``, ``host``, ``defaultStore``); the first store, or one
    marked ``defaultStore``, becomes the default. 400 for bad data, 409 for a name or host taken."""
    if not isinstance(body, dict):
        raise AppEngineError(400, INVALID_STORE, "a JSON object {name, host, defaultStore} is expected")
    name, host = _name(body.get("name")), _host(body.get("host"))
    default = body.get("defaultStore", False)
    if not isinstance(default, bool):
        raise AppEngineError(400, INVALID_STORE, "defaultStore: true or false")
    store_id = str(uuid.uuid4())
    with engine.begin() as connection:
        c = app_engine_stores.c
        exists = AppEngineError(409, STORE_EXISTS, f"an app store named {name!r} or at {host} exists")
        taken = connection.execute(
            sa.select(c.id).where(sa.or_(c.name == name, c.host == host)).limit(1)
        ).first()
        if taken is not None:
            raise exists
        first = connection.execute(sa.select(c.id).limit(1)).first() is None
        if default:
            connection.execute(app_engine_stores.update().values(is_default=False))
        try:
            connection.execute(
                app_engine_stores.insert().values(
                    id=store_id, name=name, host=host, is_default=default or first, created_at=time.time()
                )
            )
        except sa.exc.IntegrityError:  # added meanwhile by another request
            raise exists from None
        return _store(connection, store_id)


def make_default(engine: sa.Engine, store_id: str) -> sa.RowMapping:
    """Make ``store_id`` the default store (the others no longer are); 404 for an unknown one."""
    with engine.begin() as connection:
        _store(connection, store_id)
        c = app_engine_stores.c
        connection.execute(app_engine_stores.update().values(is_default=c.id == store_id))
        return _store(connection, store_id)


def remove_store(engine: sa.Engine, store_id: str) -> None:
    """Forget ``store_id`` (the tasks installed from it stay); 404 for an unknown one."""
    with engine.begin() as connection:
        _store(connection, store_id)
        connection.execute(app_engine_stores.delete().where(app_engine_stores.c.id == store_id))


def install(
    engine: sa.Engine,
    storage: Storage,
    task: tuple[str, str],
    owner: str,
    *,
    max_download: int,
    max_bytes: int,
    registry: images.Registry | None = None,
) -> sa.RowMapping:
    """Download ``task`` (namespace, version) from the default store and register it for ``owner``; its
    row. ``max_download`` bounds the bundle, ``max_bytes`` what it expands to, ``registry`` where its
    image is pushed (as an upload's)."""
    namespace, version = task
    properties = schema()["properties"]
    for field, value in (("namespace", namespace), ("version", version)):
        if not re.fullmatch(properties[field]["pattern"], value):  # nor ".." (the URL's path is the task's)
            raise AppEngineError(400, REQUEST_VALIDATION, f"{field}: {value!r} is no task's {field}")
    with engine.connect() as connection:
        host = str(default_store(connection)["host"])
    url = f"{host}/api/v1/tasks/{quote(namespace, safe='')}/{quote(version, safe='')}/bundle.zip"
    uploads = storage.base / tasks.UPLOADS
    uploads.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="install-", dir=uploads))
    try:
        bundle = work / "bundle.zip"
        _download(url, bundle, max_download)
        declared = declared_task(bundle)
        if declared != task:
            raise AppEngineError(
                502,
                DOWNLOAD_FAILED,
                f"the app store's bundle at {url} is the task {declared[0]!r} {declared[1]!r}, not the one "
                "asked for: nothing installed",
            )
        return tasks.register(engine, storage, bundle, owner, max_bytes=max_bytes, registry=registry)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _download(url: str, target: Path, max_bytes: int) -> None:
    """``url``'s body into ``target``; 502 ``APPE-appstore-download-failure`` for anything but a 200 of at
    most ``max_bytes`` bytes."""

    def failed(reason: str) -> AppEngineError:
        return AppEngineError(502, DOWNLOAD_FAILED, f"downloading {url} failed: {reason}")

    try:
        with (
            httpx.Client(timeout=TIMEOUT, verify=verification(url)) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise failed(f"the app store answered {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise failed(f"the bundle is larger than app_engine_max_upload_bytes ({max_bytes} bytes)")
            written = 0
            with target.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    written += len(chunk)
                    if written > max_bytes:
                        raise failed(
                            f"the bundle is larger than app_engine_max_upload_bytes ({max_bytes} bytes)"
                        )
                    out.write(chunk)
    except httpx.HTTPError as error:
        raise failed(str(error) or type(error).__name__) from None


def _store(connection: sa.Connection, store_id: str) -> sa.RowMapping:
    row = (
        connection.execute(sa.select(app_engine_stores).where(app_engine_stores.c.id == store_id))
        .mappings()
        .first()
    )
    if row is None:
        raise AppEngineError(404, STORE_NOT_FOUND, "app store not found")
    return row


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME:
        raise AppEngineError(400, INVALID_STORE, f"name: a text of 1 to {MAX_NAME} characters")
    return value.strip()


def _host(value: Any) -> str:
    """An ``http(s)://host[:port][/path]`` URL, without a trailing ``/`` (bundles' paths follow it)."""
    if not isinstance(value, str) or len(value) > MAX_HOST:
        raise AppEngineError(400, INVALID_STORE, f"host: an http(s) URL of at most {MAX_HOST} characters")
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError as error:
        raise AppEngineError(400, INVALID_STORE, f"host: {error}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise AppEngineError(400, INVALID_STORE, "host: an http:// or https:// URL with a host name")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise AppEngineError(
            400, INVALID_STORE, "host: no credentials, query or fragment (the bundles' paths follow it)"
        )
    if any(ord(character) < 33 for character in value.strip()):
        raise AppEngineError(400, INVALID_STORE, "host: no spaces or control characters")
    return value.strip().rstrip("/")
