"""Synchronization channels (:mod:`runyard.store.channels`): key/value stores of JSON values that the
caller's tasks share, each key versioned for compare-and-set. A user (or a task, with its job token)
sees and changes only their own channels: another user's channel of the same name is another channel.

A read may wait for a change: ``GET /channels/{name}/entries/{key}?changed_from=V&timeout=T`` answers
once the key is no longer at version ``V`` (0: absent), or after ``T`` seconds with what it holds.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from runyard.api.change_waits import MAX_WAIT_SECONDS, ChangeWaits
from runyard.api.deps import EngineDep
from runyard.api.security import CurrentUser
from runyard.errors import ConflictError, NotFoundError
from runyard.store import channels as store
from runyard.store.channels import MAX_NAME, Entry

router = APIRouter(prefix="/channels", tags=["channels"])

ChannelName = Annotated[str, Path(min_length=1, max_length=MAX_NAME, pattern=r"^[^/]+$")]
Key = Annotated[str, Path(min_length=1, max_length=MAX_NAME)]
Version = Annotated[
    int | None, Query(ge=0, le=2**62, description="The version the key must be at (0: absent)")
]


class ChannelInfo(BaseModel):
    name: str
    persistent: bool
    created_at: float
    keys: int


class ChannelCreation(BaseModel):
    persistent: bool = Field(default=True, description="Kept as ProActive's flag: every channel is stored")
    if_absent: bool = Field(
        default=False, description="An existing channel is not an error (it is left as is)"
    )


class Created(BaseModel):
    created: bool


class EntryDocument(BaseModel):
    key: str
    value: Any = Field(description="JSON; null with version 0 when the key is absent")
    version: int = Field(description="1 when created, one more at each change; 0: absent")


class EntryWrite(BaseModel):
    value: Any
    expected_version: int | None = Field(
        default=None, ge=0, le=2**62, description="Write only if the key is at this version (0: absent)"
    )


class EntryList(BaseModel):
    entries: list[EntryDocument]


@router.get("", response_model=list[ChannelInfo])
def list_channels(user: CurrentUser, engine: EngineDep) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return store.list_channels(connection, user.name)


@router.put("/{name}", response_model=Created)
def create_channel(
    name: ChannelName, body: ChannelCreation, user: CurrentUser, engine: EngineDep, response: Response
) -> Created:
    """201 when created; 409 if it exists, unless ``if_absent`` (then 200, ``created: false``)."""
    with engine.begin() as connection:
        created = store.create_channel(connection, user.name, name, body.persistent, now=time.time())
    if not created and not body.if_absent:
        raise ConflictError(f"channel {name!r} exists already")
    response.status_code = 201 if created else 200
    return Created(created=created)


@router.delete("/{name}", status_code=204)
def delete_channel(name: ChannelName, user: CurrentUser, engine: EngineDep, request: Request) -> Response:
    """The channel and its keys (404 if there is none)."""
    with engine.begin() as connection:
        if not store.delete_channel(connection, user.name, name):
            raise NotFoundError(f"no channel {name!r}")
    _waits(request).changed((user.name, name))
    return Response(status_code=204)


@router.get("/{name}/entries", response_model=EntryList)
def list_entries(name: ChannelName, user: CurrentUser, engine: EngineDep) -> EntryList:
    with engine.connect() as connection:
        found = store.entries(connection, user.name, name)
    return EntryList(entries=[_document(entry) for entry in found])


@router.get("/{name}/entries/{key:path}", response_model=EntryDocument)
async def get_entry(
    name: ChannelName,
    key: Key,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    changed_from: Annotated[
        int | None, Query(ge=0, le=2**62, description="Wait until the key is no longer at this version")
    ] = None,
    timeout: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait")] = 0,
) -> EntryDocument:
    """The key's value and version (version 0, value null: absent); 404 without the channel."""
    waits = _waits(request)
    deadline = time.monotonic() + timeout
    while True:
        with waits.watch((user.name, name)) as changed:
            found = await run_in_threadpool(_read, engine, user.name, name, key)
            remaining = deadline - time.monotonic()
            if changed_from is None or found.version != changed_from or remaining <= 0:
                return found
            if not await waits.until(changed, remaining):
                return found


@router.put("/{name}/entries/{key:path}", response_model=EntryDocument)
def put_entry(
    name: ChannelName, key: Key, body: EntryWrite, user: CurrentUser, engine: EngineDep, request: Request
) -> EntryDocument:
    """Set the key; with ``expected_version``, 409 (``details.version``: the current one) if it is at
    another."""
    with engine.begin() as connection:
        entry = store.put_entry(
            connection,
            user.name,
            name,
            key,
            body.value,
            expected_version=body.expected_version,
            now=time.time(),
        )
    _waits(request).changed((user.name, name))
    return _document(entry)


@router.delete("/{name}/entries/{key:path}", response_model=EntryDocument)
def remove_entry(
    name: ChannelName,
    key: Key,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    expected_version: Version = None,
) -> EntryDocument:
    """Remove the key; what it held (version 0: nothing)."""
    with engine.begin() as connection:
        previous = store.remove_entry(connection, user.name, name, key, expected_version=expected_version)
    if previous is not None:
        _waits(request).changed((user.name, name))
    return _document(previous or Entry(key, None, 0))


def _read(engine: sa.Engine, owner: str, channel: str, key: str) -> EntryDocument:
    with engine.connect() as connection:
        entry = store.get_entry(connection, owner, channel, key)
    return _document(entry or Entry(key, None, 0))


def _waits(request: Request) -> ChangeWaits:
    waits: ChangeWaits = request.app.state.change_waits
    return waits


def _document(entry: Entry) -> EntryDocument:
    return EntryDocument(key=entry.key, value=entry.value, version=entry.version)
