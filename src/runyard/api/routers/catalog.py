"""The catalog: buckets, their objects and every object's revisions (mounted at ``/api/v1/catalog``).

Rights are the domain's (:mod:`runyard.catalog.access`): a private bucket of another user answers
404, a write to a bucket one may only read answers 403.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from runyard import catalog
from runyard.api.deps import ConfigDep, EngineDep
from runyard.api.errors import ErrorBody
from runyard.api.security import CurrentUser
from runyard.auth import User
from runyard.catalog import CatalogContent, Revision
from runyard.catalog.metadata import WorkflowMetadata
from runyard.catalog.objects import MAX_PAGE
from runyard.server.config import ServerConfig

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid name, kind, filter or content"},
    403: {"model": ErrorBody, "description": "The bucket is readable but not writable by you"},
    404: {"model": ErrorBody, "description": "No such bucket (or not visible to you), object or revision"},
}
router = APIRouter(prefix="/buckets", tags=["catalog"], responses=_ERRORS)

BucketName = Annotated[str, Path(max_length=255, description="Letters, digits, '.', '_', '-'")]
ObjectName = Annotated[str, Path(max_length=255, description="Letters, digits, '.', '_', '-'")]
RevisionNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="1 for the first revision")]
Text = Annotated[str | None, Query(max_length=255)]


class BucketOut(BaseModel):
    name: str
    owner: str
    public: bool
    created_at: float
    object_count: int


class NewBucket(BaseModel):
    name: str = Field(max_length=255)
    public: bool = False
    """Readable by every user (always writable by its owner and admins only)."""
    owner: str | None = Field(default=None, max_length=255)
    """Another user than the caller: admins only."""


class RevisionOut(BaseModel):
    bucket: str
    name: str
    revision: int
    kind: str
    content_type: str
    project_name: str | None
    tags: list[str]
    commit_time: float
    """Epoch seconds."""
    commit_message: str
    author: str
    builtin: bool
    """Written by the built-in bucket loader."""
    metadata: WorkflowMetadata | None
    """For workflow kinds: what the catalog read out of the workflow."""
    raw_url: str
    """The content, also usable as a script URL in workflows run by this server."""


class ObjectList(BaseModel):
    objects: list[RevisionOut]
    """The latest revision of each object, by name."""
    total: int
    limit: int
    offset: int


_RAW: dict[int | str, dict[str, Any]] = {
    200: {"content": {"*/*": {}}, "description": "The content, served with its content type"}
}
_PUT_BODY = {
    "requestBody": {
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        "required": True,
        "description": "The content; its Content-Type header becomes the object's content type",
    }
}


@router.get("", response_model=list[BucketOut])
def list_buckets(
    user: CurrentUser,
    engine: EngineDep,
    owner: Text = None,
    kind: Annotated[str | None, Query(max_length=255, description="Holding an object of this kind")] = None,
    name: Annotated[str | None, Query(max_length=255, description="'*' matches anything")] = None,
) -> list[BucketOut]:
    """Buckets you may read: public ones, yours, or all for an admin."""
    with engine.connect() as connection:
        found = catalog.list_buckets(connection, user, owner=owner, kind=kind, name=name)
    return [BucketOut(**dataclasses.asdict(b)) for b in found]


@router.post("", response_model=BucketOut, status_code=201, responses={409: {"model": ErrorBody}})
def create_bucket(new: NewBucket, user: CurrentUser, engine: EngineDep) -> BucketOut:
    with engine.begin() as connection:
        bucket = catalog.create_bucket(connection, user, new.name, public=new.public, owner=new.owner)
    return BucketOut(**dataclasses.asdict(bucket))


@router.get("/{bucket}", response_model=BucketOut)
def get_bucket(bucket: BucketName, user: CurrentUser, engine: EngineDep) -> BucketOut:
    with engine.connect() as connection:
        return BucketOut(**dataclasses.asdict(catalog.get_bucket(connection, user, bucket)))


@router.delete("/{bucket}", status_code=204, responses={409: {"model": ErrorBody}})
def delete_bucket(
    bucket: BucketName,
    user: CurrentUser,
    engine: EngineDep,
    force: Annotated[bool, Query(description="Also delete the objects it holds")] = False,
) -> Response:
    """A bucket holding objects answers 409 unless ``force`` is set."""
    with engine.begin() as connection:
        catalog.delete_bucket(connection, user, bucket, force=force)
    return Response(status_code=204)


@router.get("/{bucket}/resources", response_model=ObjectList)
def list_objects(
    bucket: BucketName,
    user: CurrentUser,
    engine: EngineDep,
    config: ConfigDep,
    kind: Annotated[str | None, Query(max_length=255, description="This kind or below ('Workflow')")] = None,
    content_type: Text = None,
    tag: Text = None,
    project: Text = None,
    name: Annotated[str | None, Query(max_length=255, description="'*' matches anything")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ObjectList:
    with engine.connect() as connection:
        page = catalog.list_objects(
            connection,
            user,
            bucket,
            kind=kind,
            content_type=content_type,
            tag=tag,
            project_name=project,
            name=name,
            limit=limit,
            offset=offset,
        )
    url = _catalog_url(config)
    return ObjectList(
        objects=[_out(r, url, pinned=False) for r in page.items], total=page.total, limit=limit, offset=offset
    )


@router.post("/{bucket}/resources", response_model=RevisionOut, status_code=201)
def upload_object(
    bucket: BucketName,
    user: CurrentUser,
    engine: EngineDep,
    config: ConfigDep,
    file: Annotated[UploadFile, File(description="The content")],
    name: Annotated[str | None, Form(max_length=255, description="Default: the file's name")] = None,
    kind: Annotated[str | None, Form(max_length=255, description="Needed for a new object")] = None,
    commit_message: Annotated[str, Form(max_length=10_000)] = "",
    content_type: Annotated[str | None, Form(max_length=255)] = None,
    project_name: Annotated[str | None, Form(max_length=255)] = None,
    tags: Annotated[str | None, Form(max_length=20_000, description="Comma-separated")] = None,
) -> RevisionOut:
    """Create an object, or commit the next revision of an existing one.

    What is not given is kept from the latest revision; a workflow's project and tags come from the workflow.
    """
    data = file.file.read()
    revision = _put(
        engine,
        user,
        bucket,
        name or file.filename or "",
        data,
        kind,
        commit_message,
        content_type,
        project_name,
        tags,
    )
    return _out(revision, _catalog_url(config), pinned=True)


@router.put(
    "/{bucket}/resources/{name}", response_model=RevisionOut, status_code=201, openapi_extra=_PUT_BODY
)
async def put_object(
    request: Request,
    bucket: BucketName,
    name: ObjectName,
    user: CurrentUser,
    engine: EngineDep,
    config: ConfigDep,
    kind: Annotated[str | None, Query(max_length=255, description="Needed for a new object")] = None,
    commit_message: Annotated[str, Query(max_length=10_000)] = "",
    project_name: Text = None,
    tags: Annotated[str | None, Query(max_length=20_000, description="Comma-separated")] = None,
) -> RevisionOut:
    """Commit the raw body as the next revision (or the first, creating the object)."""
    data = await request.body()
    content_type = request.headers.get("content-type")
    revision = await run_in_threadpool(
        _put, engine, user, bucket, name, data, kind, commit_message, content_type, project_name, tags
    )
    return _out(revision, _catalog_url(config), pinned=True)


@router.get("/{bucket}/resources/{name}", response_model=RevisionOut)
def get_object(
    bucket: BucketName, name: ObjectName, user: CurrentUser, engine: EngineDep, config: ConfigDep
) -> RevisionOut:
    """The latest revision's description (with ``metadata`` for workflows)."""
    with engine.connect() as connection:
        revision = catalog.get_object(connection, user, bucket, name)
    return _out(revision, _catalog_url(config), pinned=False)


@router.get("/{bucket}/resources/{name}/raw", response_class=Response, responses=_RAW)
def get_raw(bucket: BucketName, name: ObjectName, user: CurrentUser, engine: EngineDep) -> Response:
    """The latest revision's content."""
    with engine.connect() as connection:
        return raw_response(catalog.read_raw(connection, user, bucket, name))


@router.delete("/{bucket}/resources/{name}", status_code=204)
def delete_object(bucket: BucketName, name: ObjectName, user: CurrentUser, engine: EngineDep) -> Response:
    """Delete the object with all its revisions."""
    with engine.begin() as connection:
        catalog.delete_object(connection, user, bucket, name)
    return Response(status_code=204)


@router.get("/{bucket}/resources/{name}/revisions", response_model=list[RevisionOut])
def list_revisions(
    bucket: BucketName, name: ObjectName, user: CurrentUser, engine: EngineDep, config: ConfigDep
) -> list[RevisionOut]:
    """Every revision, newest first."""
    with engine.connect() as connection:
        found = catalog.list_revisions(connection, user, bucket, name)
    url = _catalog_url(config)
    return [_out(r, url, pinned=True) for r in found]


@router.get("/{bucket}/resources/{name}/revisions/{revision}", response_model=RevisionOut)
def get_revision(
    bucket: BucketName,
    name: ObjectName,
    revision: RevisionNumber,
    user: CurrentUser,
    engine: EngineDep,
    config: ConfigDep,
) -> RevisionOut:
    with engine.connect() as connection:
        found = catalog.get_revision(connection, user, bucket, name, revision)
    return _out(found, _catalog_url(config), pinned=True)


@router.get("/{bucket}/resources/{name}/revisions/{revision}/raw", response_class=Response, responses=_RAW)
def get_revision_raw(
    bucket: BucketName, name: ObjectName, revision: RevisionNumber, user: CurrentUser, engine: EngineDep
) -> Response:
    with engine.connect() as connection:
        return raw_response(catalog.read_raw(connection, user, bucket, name, revision))


@router.get("/{bucket}/resources/{name}/diff", response_model=catalog.RevisionDiff)
def diff_revisions(
    bucket: BucketName,
    name: ObjectName,
    user: CurrentUser,
    engine: EngineDep,
    from_revision: Annotated[int | None, Query(alias="from", ge=1, le=2**31 - 1)] = None,
    to_revision: Annotated[int | None, Query(alias="to", ge=1, le=2**31 - 1)] = None,
) -> catalog.RevisionDiff:
    """Two revisions compared line by line (by default the latest against the one before): the blocks of
    a side-by-side view and the unified diff. Only text compares (400 otherwise)."""
    with engine.connect() as connection:
        return catalog.diff_revisions(connection, user, bucket, name, from_revision, to_revision)


@router.post(
    "/{bucket}/resources/{name}/revisions/{revision}/restore", response_model=RevisionOut, status_code=201
)
def restore_revision(
    bucket: BucketName,
    name: ObjectName,
    revision: RevisionNumber,
    user: CurrentUser,
    engine: EngineDep,
    config: ConfigDep,
) -> RevisionOut:
    """Commit a copy of an old revision as the newest one (message "restored revision N")."""
    with engine.begin() as connection:
        restored = catalog.restore_revision(connection, user, bucket, name, revision)
    return _out(restored, _catalog_url(config), pinned=True)


def _put(
    engine: sa.Engine,
    user: User,
    bucket: str,
    name: str,
    data: bytes,
    kind: str | None,
    commit_message: str,
    content_type: str | None,
    project_name: str | None,
    tags: str | None,
) -> Revision:
    with engine.begin() as connection:
        return catalog.put_object(
            connection,
            user,
            bucket,
            name,
            data,
            commit_message=commit_message,
            kind=kind,
            content_type=content_type,
            project_name=project_name,
            tags=None if tags is None else [tags],
        )


def _catalog_url(config: ServerConfig) -> str:
    return config.settings().catalog_rest_url


def _out(revision: Revision, catalog_url: str, *, pinned: bool) -> RevisionOut:
    """``pinned``: the raw URL names this revision, else the object's latest."""
    path = f"{catalog_url}/buckets/{revision.bucket}/resources/{revision.name}"
    if pinned:
        path += f"/revisions/{revision.revision}"
    return RevisionOut(**dataclasses.asdict(revision), raw_url=f"{path}/raw")


def raw_response(content: CatalogContent) -> Response:
    """The content as stored, with its content type; never sniffed, never run as a page of this origin."""
    headers = {
        "content-type": content.content_type,
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox",
    }
    return Response(content.data, headers=headers)
