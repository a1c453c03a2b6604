"""``/catalog/buckets/{bucket}/resources``: list, upload (multipart), metadata, raw content, delete.

As in ProActive, uploading creates an object (409 when the name is taken: a new revision goes to
``…/revisions``), and the parameters may come in the query string or as fields of the multipart body.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from runyard import catalog
from runyard.api.deps import ConfigDep, EngineDep
from runyard.api.proactive.common import ProActiveError, ProActiveUser, proactive_router
from runyard.api.proactive_catalog.catalog_shapes import (
    OBJECT_EXISTS,
    PARSING_FAILED,
    WRONG_PARAMETERS,
    object_metadata,
    rights,
)
from runyard.api.proactive_catalog.listing import ObjectFilter, find_objects
from runyard.api.routers.catalog import raw_response
from runyard.auth import User
from runyard.catalog import Revision
from runyard.errors import NotFoundError, WorkflowError
from runyard.server.config import ServerConfig

router = proactive_router(prefix="/buckets/{bucket}/resources", include_in_schema=False)

MAX_FIELDS = 20
"""Most fields an upload's multipart body may have besides its file."""


@router.get("")
def list_objects(
    bucket: str,
    user: ProActiveUser,
    engine: EngineDep,
    config: ConfigDep,
    kind: Annotated[str | None, Query(max_length=2000)] = None,
    content_type: Annotated[str | None, Query(alias="contentType", max_length=255)] = None,
    object_name: Annotated[str | None, Query(alias="objectName", max_length=255)] = None,
    page_no: Annotated[int, Query(alias="pageNo", ge=0, le=1_000_000)] = 0,
    page_size: Annotated[int, Query(alias="pageSize", ge=1)] = 2**31 - 1,
) -> list[dict[str, Any]]:
    """The latest revision of each object, by project then name, as ProActive sorts them."""
    with engine.connect() as connection:
        bucket_rights = rights(user, catalog.get_bucket(connection, user, bucket))
        found = find_objects(connection, user, bucket, ObjectFilter.of(kind, content_type, object_name))
    found.sort(key=lambda r: (r.project_name or "", r.name))
    page = found[page_no * page_size : (page_no + 1) * page_size]
    return [object_metadata(r, catalog_url(config), bucket_rights) for r in page]


@router.post("", status_code=201)
async def upload_object(
    bucket: str, request: Request, user: ProActiveUser, engine: EngineDep, config: ConfigDep
) -> dict[str, Any]:
    """A new object from the multipart part ``file`` with ``name``, ``kind``, ``commitMessage``,
    ``objectContentType`` and optionally ``projectName`` and ``tags``."""
    data, params = await read_upload(request)
    if not params.get("name"):
        raise ProActiveError(
            400, "missing parameter 'name' (runyard imports no zip archive)", WRONG_PARAMETERS
        )
    for required in ("kind", "commitMessage", "objectContentType"):
        if required not in params:
            raise ProActiveError(400, f"missing parameter {required!r}", WRONG_PARAMETERS)
    revision = await run_in_threadpool(_create, engine, user, bucket, data, params)
    return {"object": [object_metadata(revision, catalog_url(config), "admin")]}


@router.get("/{name}")
def get_object(
    bucket: str, name: str, user: ProActiveUser, engine: EngineDep, config: ConfigDep
) -> dict[str, Any]:
    with engine.connect() as connection:
        bucket_rights = rights(user, catalog.get_bucket(connection, user, bucket))
        revision = catalog.get_object(connection, user, bucket, name)
    return object_metadata(revision, catalog_url(config), bucket_rights)


@router.get("/{name}/raw")
def get_raw(bucket: str, name: str, user: ProActiveUser, engine: EngineDep) -> Response:
    """The latest revision's content (what ``${PA_CATALOG_REST_URL}/buckets/B/resources/N/raw`` names)."""
    with engine.connect() as connection:
        return raw_response(catalog.read_raw(connection, user, bucket, name))


@router.delete("/{name}")
def delete_object(
    bucket: str, name: str, user: ProActiveUser, engine: EngineDep, config: ConfigDep
) -> dict[str, Any]:
    """Delete the object with all its revisions; answers its latest revision's metadata."""
    with engine.begin() as connection:
        revision = catalog.get_object(connection, user, bucket, name)
        catalog.delete_object(connection, user, bucket, name)
    return object_metadata(revision, catalog_url(config), "admin")


def catalog_url(config: ServerConfig) -> str:
    """Where ProActive's catalog REST is served (the base of the ``content`` links)."""
    return f"{config.base_url}/catalog"


async def read_upload(request: Request) -> tuple[bytes, dict[str, str]]:
    """The content of the multipart part ``file``, and the parameters as Spring's ``@RequestParam`` reads
    them: a multipart field, else the query string's parameter."""
    form = await request.form(max_files=1, max_fields=MAX_FIELDS)
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise ProActiveError(400, "missing parameter: the multipart part 'file'", WRONG_PARAMETERS)
        params = dict(request.query_params.items())
        params.update((k, v) for k, v in form.items() if isinstance(v, str))
        return await file.read(), params
    finally:
        await form.close()


def put(
    connection: sa.Connection,
    user: User,
    bucket: str,
    name: str,
    data: bytes,
    params: dict[str, str],
    *,
    kind: str | None = None,
    content_type: str | None = None,
) -> Revision:
    """Commit ``data`` with the commit message, project and tags ``params`` give; a workflow that does not
    parse answers 422, as ProActive's ``ParsingObjectException``."""
    try:
        return catalog.put_object(
            connection,
            user,
            bucket,
            name,
            data,
            commit_message=params["commitMessage"],
            kind=kind,
            content_type=content_type,
            project_name=params.get("projectName") or None,
            tags=[params["tags"]] if params.get("tags") else None,
        )
    except WorkflowError as error:
        raise ProActiveError(422, str(error), PARSING_FAILED) from None


def _create(engine: sa.Engine, user: User, bucket: str, data: bytes, params: dict[str, str]) -> Revision:
    name = params["name"]
    with engine.begin() as connection:
        try:
            catalog.get_object(connection, user, bucket, name)
        except NotFoundError:
            pass
        else:
            message = f"Catalog Object with name '{name}' already exists in bucket: '{bucket}'"
            raise ProActiveError(409, message, OBJECT_EXISTS)
        return put(
            connection,
            user,
            bucket,
            name,
            data,
            params,
            kind=params["kind"],
            content_type=params["objectContentType"],
        )
