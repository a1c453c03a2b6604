"""Notifications: what the platform tells you (a model server's drift...), and raising one.

A service's own process raises them with a notification token of its instance
(:meth:`NotificationsApi.create_notification_token`, or :mod:`runyard.services.notifications` in
its start task); you list, read and delete yours. See docs/notifications.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from runyard.client.documents import Notification, NotificationList
from runyard.client.transport import Call, json_body, no_body, operation, segment


class NotificationsApi:
    @operation
    def list_notifications(
        self,
        *,
        unread: bool = False,
        limit: int = 50,
        after_id: int | None = None,
        before_id: int | None = None,
    ) -> Call[NotificationList]:
        """``{"notifications": [...], "unread": N}``: yours, newest first (at most ``limit``, 1 to 1000);
        ``after_id``: only newer ones, ``before_id``: only older ones (the next page)."""
        params: dict[str, Any] = {"unread": unread, "limit": limit}
        params |= {k: v for k, v in {"after_id": after_id, "before_id": before_id}.items() if v is not None}
        return Call("GET", "/notifications", json_body, params=params)

    @operation
    def create_notification(
        self, kind: str, title: str, message: str = "", details: Mapping[str, Any] | None = None
    ) -> Call[Notification]:
        """Raise a notification: for the instance's owner with a notification token, else for yourself
        (``ApiError`` 400 over a bound, 429 past the source's rate)."""
        body = {"kind": kind, "title": title, "message": message, "details": dict(details or {})}
        return Call("POST", "/notifications", json_body, json=body)

    @operation
    def mark_notification_read(self, notification_id: int) -> Call[Notification]:
        return Call("POST", f"/notifications/{segment(notification_id)}/read", json_body)

    @operation
    def delete_notification(self, notification_id: int) -> Call[None]:
        return Call("DELETE", f"/notifications/{segment(notification_id)}", no_body)

    @operation
    def create_notification_token(self, instance_id: int) -> Call[str]:
        """A token for the service instance's own process: good for :meth:`create_notification` only,
        for the instance's owner, while the instance is neither FINISHED nor KILLED."""
        path = f"/service-instances/{segment(instance_id)}/notification-token"
        return Call("POST", path, _token)


def _token(response: httpx.Response) -> str:
    token: str = response.json()["token"]
    return token
