"""Notifications: what the platform tells a user (a model server's drift...), stored per owner.

Each names who raised it (``source``: ``service-instance:ID``, ``job:ID`` or ``user:NAME``) and is
bounded: a title, a message and JSON details of limited size; the newest :data:`MAX_PER_OWNER` of
an owner are kept (older ones are dropped as new ones come); a source raises at most
:data:`RATE` in :data:`RATE_WINDOW` seconds, beyond which :class:`~runyard.errors.RateLimitedError`
says when to try again. The rows go with their owner (foreign key, ``ON DELETE CASCADE``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.errors import InvalidRequestError, NotFoundError, RateLimitedError
from runyard.store.schema import notifications

MAX_TITLE = 200
"""Characters of a title."""
MAX_MESSAGE = 4000
"""Characters of a message."""
MAX_DETAILS_BYTES = 16_384
"""The details as compact JSON."""
KIND_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""A kind: ``drift``, ``model.error``... up to 64 letters, digits or ``_.-``."""
MAX_PER_OWNER = 1000
"""Notifications kept per owner: the oldest go first."""
RATE = 60
"""Notifications one source may raise in :data:`RATE_WINDOW` seconds."""
RATE_WINDOW = 60.0
MAX_PAGE = 1000
"""Notifications per listing."""

_KIND = re.compile(KIND_PATTERN)


@dataclass(frozen=True)
class Notification:
    id: int
    owner: str
    created_at: float
    kind: str
    title: str
    message: str
    details: dict[str, Any]
    source: str
    """``service-instance:ID``, ``job:ID`` or ``user:NAME``: who raised it."""
    service_instance_id: int | None
    read_at: float | None


@dataclass(frozen=True)
class Draft:
    """What a notification says, before the platform stores it."""

    kind: str
    title: str
    message: str = ""
    details: dict[str, Any] | None = None


def add_notification(
    connection: sa.Connection,
    owner: str,
    draft: Draft,
    *,
    source: str,
    now: float,
    service_instance_id: int | None = None,
) -> Notification:
    """Store ``draft`` for ``owner``; ``InvalidRequestError`` over a bound, ``RateLimitedError`` when
    ``source`` raised :data:`RATE` in the last :data:`RATE_WINDOW` seconds."""
    details = _checked(draft)
    c = notifications.c
    recent = connection.execute(
        sa.select(sa.func.count(), sa.func.min(c.created_at)).where(
            c.source == source, c.created_at > now - RATE_WINDOW
        )
    ).one()
    if recent[0] >= RATE:
        wait = max(1, math.ceil(recent[1] + RATE_WINDOW - now))
        raise RateLimitedError(
            f"{source} raised {RATE} notifications in {RATE_WINDOW:g} s: try again in {wait} s", wait
        )
    values = {
        "owner": owner,
        "created_at": now,
        "kind": draft.kind,
        "title": draft.title,
        "message": draft.message,
        "details": details,
        "source": source,
        "service_instance_id": service_instance_id,
    }
    row = connection.execute(sa.insert(notifications).values(values).returning(*notifications.c)).one()
    oldest_kept = connection.execute(
        sa.select(c.id).where(c.owner == owner).order_by(c.id.desc()).offset(MAX_PER_OWNER - 1).limit(1)
    ).scalar()
    if oldest_kept is not None:
        connection.execute(sa.delete(notifications).where(c.owner == owner, c.id < oldest_kept))
    return _notification(row)


def list_notifications(
    connection: sa.Connection,
    owner: str,
    *,
    unread: bool = False,
    limit: int = 50,
    after_id: int | None = None,
    before_id: int | None = None,
) -> list[Notification]:
    """The owner's notifications, newest first (at most ``limit``, and :data:`MAX_PAGE`); ``after_id``:
    only newer ones than that, ``before_id``: only older ones."""
    c = notifications.c
    query = sa.select(notifications).where(c.owner == owner).order_by(c.id.desc()).limit(min(limit, MAX_PAGE))
    if unread:
        query = query.where(c.read_at.is_(None))
    if after_id is not None:
        query = query.where(c.id > after_id)
    if before_id is not None:
        query = query.where(c.id < before_id)
    return [_notification(row) for row in connection.execute(query)]


def count_unread(connection: sa.Connection, owner: str) -> int:
    c = notifications.c
    query = sa.select(sa.func.count()).where(c.owner == owner, c.read_at.is_(None))
    return int(connection.execute(query).scalar_one())


def mark_read(connection: sa.Connection, owner: str, notification_id: int, *, now: float) -> Notification:
    """Mark one of the owner's notifications read (once: a second time keeps the first time)."""
    c = notifications.c
    connection.execute(
        sa.update(notifications)
        .where(c.id == notification_id, c.owner == owner, c.read_at.is_(None))
        .values(read_at=now)
    )
    row = connection.execute(
        sa.select(notifications).where(c.id == notification_id, c.owner == owner)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no notification {notification_id}")
    return _notification(row)


def delete_notification(connection: sa.Connection, owner: str, notification_id: int) -> None:
    c = notifications.c
    deleted = connection.execute(sa.delete(notifications).where(c.id == notification_id, c.owner == owner))
    if deleted.rowcount == 0:
        raise NotFoundError(f"no notification {notification_id}")


def _checked(draft: Draft) -> dict[str, Any]:
    """The draft's details, once every field is within its bounds."""
    if not _KIND.match(draft.kind):
        raise InvalidRequestError(f"invalid kind {draft.kind!r}: up to 64 letters, digits or _.- (drift...)")
    for name, text, bound in (("title", draft.title, MAX_TITLE), ("message", draft.message, MAX_MESSAGE)):
        if len(text) > bound:
            raise InvalidRequestError(f"the {name} has {len(text)} characters: at most {bound}")
        if "\x00" in text:
            raise InvalidRequestError(f"the {name} contains a NUL character")
    if not draft.title.strip():
        raise InvalidRequestError("the title is empty")
    details = draft.details or {}
    try:
        size = len(json.dumps(details, separators=(",", ":"), allow_nan=False).encode())
    except (ValueError, RecursionError) as error:
        raise InvalidRequestError(f"the details are not storable JSON: {error}") from None
    if size > MAX_DETAILS_BYTES:
        raise InvalidRequestError(f"the details are {size} bytes of JSON: at most {MAX_DETAILS_BYTES}")
    return details


def _notification(row: sa.Row[Any]) -> Notification:
    return Notification(
        id=row.id,
        owner=row.owner,
        created_at=row.created_at,
        kind=row.kind,
        title=row.title,
        message=row.message,
        details=row.details,
        source=row.source,
        service_instance_id=row.service_instance_id,
        read_at=row.read_at,
    )
