"""Notifications: raise one (a service's process with its notification token, or a user for themself),
list, mark read and delete your own. Another user's notification answers 404, as one that does not exist.

A new notification is stored, then sent to its owner's event streams (``GET /events``, ``event:
notification``). Bounds and the rate of a source: :mod:`runyard.store.notifications`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from runyard.api.deps import EngineDep, EventsDep
from runyard.api.routers.jobs import MAX_ID
from runyard.api.security import CurrentNotifier, CurrentUser
from runyard.store import notifications as store
from runyard.store.notifications import KIND_PATTERN, MAX_MESSAGE, MAX_PAGE, MAX_TITLE, Draft, Notification

router = APIRouter(prefix="/notifications", tags=["notifications"])

NotificationId = Annotated[int, Path(ge=1, le=MAX_ID)]


class NotificationIn(BaseModel):
    kind: str = Field(pattern=KIND_PATTERN, description="What happened: drift, model.error...")
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    message: str = Field(default="", max_length=MAX_MESSAGE)
    details: dict[str, Any] = Field(default_factory=dict, description="At most 16 KB of JSON")


class NotificationList(BaseModel):
    notifications: list[Notification]
    """Newest first."""
    unread: int
    """How many of yours are unread (all of them, not only this page's)."""


@router.post("", response_model=Notification, status_code=201)
def create_notification(
    body: NotificationIn, notifier: CurrentNotifier, engine: EngineDep, hub: EventsDep
) -> Notification:
    """Raise a notification for the owner of the service instance whose notification token is sent
    (never an owner the body names), or for yourself. 429 with ``Retry-After`` past a source's rate."""
    draft = Draft(kind=body.kind, title=body.title, message=body.message, details=body.details)
    with engine.begin() as connection:
        stored = store.add_notification(
            connection,
            notifier.owner,
            draft,
            source=notifier.source,
            now=time.time(),
            service_instance_id=notifier.service_instance_id,
        )
    hub.publish_notification(stored.owner, dataclasses.asdict(stored))
    return stored


@router.get("", response_model=NotificationList)
def list_notifications(
    user: CurrentUser,
    engine: EngineDep,
    unread: Annotated[bool, Query(description="Only the unread ones")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    after_id: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Only newer ones than this")] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only older ones (paging)")] = None,
) -> NotificationList:
    """Your notifications, newest first."""
    with engine.connect() as connection:
        found = store.list_notifications(
            connection, user.name, unread=unread, limit=limit, after_id=after_id, before_id=before_id
        )
        unread_count = store.count_unread(connection, user.name)
    return NotificationList(notifications=found, unread=unread_count)


@router.post("/{notification_id}/read", response_model=Notification)
def mark_read(notification_id: NotificationId, user: CurrentUser, engine: EngineDep) -> Notification:
    """Mark it read (again: it keeps the time of the first)."""
    with engine.begin() as connection:
        return store.mark_read(connection, user.name, notification_id, now=time.time())


@router.delete("/{notification_id}", status_code=204)
def delete_notification(notification_id: NotificationId, user: CurrentUser, engine: EngineDep) -> Response:
    with engine.begin() as connection:
        store.delete_notification(connection, user.name, notification_id)
    return Response(status_code=204)
