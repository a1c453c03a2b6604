"""Synchronization channels: named key/value stores that a user's tasks share (ProActive's
``synchronizationapi``), with atomic operations by optimistic concurrency.

ProActive's channels are global: any task of any user reads and changes any channel. runyard scopes
them by owner: a channel ``C`` of alice and a channel ``C`` of bob are two channels, and a task acts on
its job owner's channels only (users who do not trust each other share a platform, see DESIGN.md).

Values are JSON documents (at most :data:`MAX_VALUE_BYTES`). Every key has a version, 1 when it is
created and one more at each change; a write may name the version it expects (0: the key must not
exist) and is refused with :class:`~runyard.errors.ConflictError` when the key is at another: that is
how ``compute`` and the other atomic operations are built (read, compute, write if unchanged, else
again). A key removed and created again starts again at version 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.errors import ConflictError, InvalidRequestError, NotFoundError
from runyard.store.schema import sync_channels, sync_entries

MAX_NAME = 255
"""Characters of a channel's name or of a key."""
MAX_VALUE_BYTES = 262_144
"""A value as JSON text."""
MAX_CHANNELS = 1000
"""Channels of one owner."""
MAX_KEYS = 10_000
"""Keys of one channel."""
MAX_OWNER_CHARACTERS = 64 * 1024 * 1024
"""The JSON text of all of one owner's values: what a listing may have to send, what the store keeps."""


@dataclass(frozen=True)
class Entry:
    key: str
    value: Any
    version: int

    def document(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "version": self.version}


def check_name(name: str, what: str = "a channel's name") -> None:
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidRequestError(f"{what} is 1 to {MAX_NAME} printable characters: {name[:80]!r}")


def list_channels(connection: sa.Connection, owner: str) -> list[dict[str, Any]]:
    """``owner``'s channels: ``name``, ``persistent``, ``created_at``, ``keys`` (how many)."""
    c, e = sync_channels.c, sync_entries.c
    keys = (
        sa.select(sa.func.count())
        .where(e.owner == c.owner, e.channel == c.name)
        .correlate(sync_channels)
        .scalar_subquery()
    )
    rows = connection.execute(
        sa.select(c.name, c.persistent, c.created_at, keys.label("keys"))
        .where(c.owner == owner)
        .order_by(c.name)
    )
    return [dict(row._mapping) for row in rows]


def create_channel(connection: sa.Connection, owner: str, name: str, persistent: bool, *, now: float) -> bool:
    """Create ``owner``'s channel ``name``; ``False`` if it exists already (it is left as it is)."""
    check_name(name)
    if _exists(connection, owner, name):
        return False
    c = sync_channels.c
    count = connection.execute(sa.select(sa.func.count()).where(c.owner == owner)).scalar() or 0
    if count >= MAX_CHANNELS:
        raise InvalidRequestError(f"{owner} has {MAX_CHANNELS} channels already: delete some first")
    try:
        with connection.begin_nested():
            connection.execute(
                sa.insert(sync_channels).values(owner=owner, name=name, persistent=persistent, created_at=now)
            )
    except sa.exc.IntegrityError:  # created meanwhile by another request
        return False
    return True


def delete_channel(connection: sa.Connection, owner: str, name: str) -> bool:
    """Delete the channel and its keys; ``False`` if there was none."""
    connection.execute(
        sa.delete(sync_entries).where(sync_entries.c.owner == owner, sync_entries.c.channel == name)
    )
    c = sync_channels.c
    return bool(connection.execute(sa.delete(sync_channels).where(c.owner == owner, c.name == name)).rowcount)


def entries(connection: sa.Connection, owner: str, channel: str) -> list[Entry]:
    """Every key of the channel, by key."""
    _require(connection, owner, channel)
    e = sync_entries.c
    rows = connection.execute(
        sa.select(e.key, e.value, e.version).where(e.owner == owner, e.channel == channel).order_by(e.key)
    )
    return [Entry(row.key, json.loads(row.value), row.version) for row in rows]


def get_entry(connection: sa.Connection, owner: str, channel: str, key: str) -> Entry | None:
    """The key's value and version, ``None`` if the channel has no such key."""
    _require(connection, owner, channel)
    e = sync_entries.c
    row = connection.execute(
        sa.select(e.value, e.version).where(e.owner == owner, e.channel == channel, e.key == key)
    ).first()
    return None if row is None else Entry(key, json.loads(row.value), row.version)


def put_entry(
    connection: sa.Connection,
    owner: str,
    channel: str,
    key: str,
    value: Any,
    *,
    expected_version: int | None = None,
    now: float,
) -> Entry:
    """Set the key to ``value``; with ``expected_version``, only if the key is at that version (0: absent),
    else ``ConflictError`` (its ``details``: ``{"version": the current one, 0 if absent}``)."""
    check_name(key, "a key")
    text = encode(value)
    _require(connection, owner, channel)
    e = sync_entries.c
    where = (e.owner == owner, e.channel == channel, e.key == key)
    others = connection.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sa.func.length(e.value)), 0)).where(
            e.owner == owner, sa.not_(sa.and_(e.channel == channel, e.key == key))
        )
    ).scalar()
    if int(others or 0) + len(text) > MAX_OWNER_CHARACTERS:
        limit = MAX_OWNER_CHARACTERS // 1024 // 1024
        raise InvalidRequestError(f"your channels hold at most {limit} MiB of values: remove some first")
    if expected_version != 0:
        condition = where if expected_version is None else (*where, e.version == expected_version)
        updated = connection.execute(
            sa.update(sync_entries)
            .where(*condition)
            .values(value=text, version=e.version + 1, updated_at=now)
        ).rowcount
        if updated:
            version = connection.execute(sa.select(e.version).where(*where)).scalar_one()
            return Entry(key, json.loads(text), int(version))
        if expected_version is not None:
            raise _conflict(connection, owner, channel, key, expected_version)
    count = connection.execute(
        sa.select(sa.func.count()).where(e.owner == owner, e.channel == channel)
    ).scalar()
    if (count or 0) >= MAX_KEYS:
        raise InvalidRequestError(f"channel {channel!r} has {MAX_KEYS} keys already: remove some first")
    try:
        with connection.begin_nested():
            connection.execute(
                sa.insert(sync_entries).values(
                    owner=owner, channel=channel, key=key, value=text, version=1, updated_at=now
                )
            )
    except sa.exc.IntegrityError:  # created meanwhile by another request
        raise _conflict(connection, owner, channel, key, expected_version or 0) from None
    return Entry(key, json.loads(text), 1)


def remove_entry(
    connection: sa.Connection, owner: str, channel: str, key: str, *, expected_version: int | None = None
) -> Entry | None:
    """Remove the key (only at ``expected_version`` if given, else ``ConflictError``); what it held."""
    previous = get_entry(connection, owner, channel, key)
    if previous is None:
        if expected_version:
            raise _conflict(connection, owner, channel, key, expected_version)
        return None
    e = sync_entries.c
    condition = [e.owner == owner, e.channel == channel, e.key == key]
    condition.append(e.version == (previous.version if expected_version is None else expected_version))
    if not connection.execute(sa.delete(sync_entries).where(*condition)).rowcount:
        raise _conflict(connection, owner, channel, key, expected_version or previous.version)
    return previous


def encode(value: Any) -> str:
    """``value`` as compact JSON; ``InvalidRequestError`` over :data:`MAX_VALUE_BYTES`."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    if len(text.encode()) > MAX_VALUE_BYTES:
        raise InvalidRequestError(f"a channel value is at most {MAX_VALUE_BYTES} bytes of JSON")
    return text


def _exists(connection: sa.Connection, owner: str, name: str) -> bool:
    c = sync_channels.c
    return connection.execute(sa.select(c.name).where(c.owner == owner, c.name == name)).first() is not None


def _require(connection: sa.Connection, owner: str, channel: str) -> None:
    if not _exists(connection, owner, channel):
        raise NotFoundError(f"no channel {channel!r}: create it first")


def _conflict(connection: sa.Connection, owner: str, channel: str, key: str, expected: int) -> ConflictError:
    e = sync_entries.c
    current = connection.execute(
        sa.select(e.version).where(e.owner == owner, e.channel == channel, e.key == key)
    ).scalar()
    version = int(current or 0)
    return ConflictError(
        f"key {key!r} of channel {channel!r} is at version {version}, not {expected}: read it again",
        {"version": version},
    )
