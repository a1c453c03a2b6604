"""``/notifications?unread=true``: what the platform told the person (drift and others), newest first,
new ones arriving live from ``notification`` events; mark read, delete, follow a link to what it is about."""

from __future__ import annotations

import json
from dataclasses import dataclass

from nicegui import ui

from runyard.client.documents import Notification, StreamEvent
from runyard.web.calls import Refused, call
from runyard.web.labels import labelled
from runyard.web.layout import page
from runyard.web.live import RESET, SUBSCRIBED, follow
from runyard.web.sessions import Session
from runyard.web.times import moment

PAGE = 50


@dataclass
class _Counts:
    unread: int = 0
    """Of all the person's notifications, not only those shown."""
    more: bool = False
    """Older notifications than those shown may exist."""


def about(notification: Notification) -> tuple[str, str] | None:
    """The portal page a notification is about, as (link text, path): its service instance or job."""
    if notification["service_instance_id"] is not None:
        instance = notification["service_instance_id"]
        return f"Service instance {instance}", f"/services/instances/{instance}"
    kind, _, ident = notification["source"].partition(":")
    if kind == "job" and ident.isdigit():
        return f"Job {ident}", f"/jobs/{ident}"
    return None


@page("/notifications", "Notifications")
async def notifications(session: Session, unread: bool = False) -> None:
    shown: list[Notification] = []
    state = _Counts()
    with ui.row().classes("items-center gap-4 w-full"):
        counter = ui.label("").classes("text-gray-600").props('aria-live="polite"')
        ui.switch(
            "Unread only",
            value=unread,
            on_change=lambda e: ui.navigate.to("/notifications?unread=true" if e.value else "/notifications"),
        ).props('aria-label="Unread only"')

    @ui.refreshable
    def listing() -> None:
        counter.set_text(f"{state.unread} unread")
        if not shown:
            ui.label("No notification." if not unread else "No unread notification.").classes("text-gray-600")
        for notification in shown:
            _card(notification)
        if state.more:
            ui.button("Older notifications", icon="expand_more", on_click=older).props("flat")

    def _card(notification: Notification) -> None:
        ident = notification["id"]
        fresh = notification["read_at"] is None
        with (
            ui.card().classes("w-full p-3" + (" border-l-4 border-primary" if fresh else " opacity-80")),
            labelled(ui.row(), f"Notification {ident}")
            .classes("w-full items-start gap-3 no-wrap")
            .props('role="article"'),
        ):
            ui.icon("notifications_active" if fresh else "notifications_none", size="sm").classes(
                "text-primary"
            )
            with ui.column().classes("flex-1 min-w-0 gap-1"):
                with ui.row().classes("items-center gap-2"):
                    ui.label(notification["title"]).classes(
                        "font-medium break-all" + (" font-bold" if fresh else "")
                    )
                    ui.badge(notification["kind"], color="secondary")
                    ui.label(moment(notification["created_at"])).classes("text-xs text-gray-500")
                if notification["message"]:
                    ui.label(notification["message"]).classes("whitespace-pre-wrap break-words")
                link = about(notification)
                if link is not None:
                    ui.link(*link)
                if notification["details"]:
                    with ui.expansion("Details").classes("w-full").props("dense"):
                        details = json.dumps(notification["details"], indent=2, ensure_ascii=False)
                        ui.label(details).classes("font-mono text-xs whitespace-pre-wrap break-all")
            if fresh:
                done = ui.button(icon="done", on_click=lambda: mark_read(ident)).props("flat dense")
                labelled(done, f"Mark notification {ident} read").tooltip("Mark read")
            labelled(
                ui.button(icon="delete", on_click=lambda: delete(ident)), f"Delete notification {ident}"
            ).props("flat dense").tooltip("Delete")

    async def reload() -> None:
        try:
            listed = await call(session.client.list_notifications(unread=unread, limit=PAGE))
        except Refused:
            return
        shown[:] = listed["notifications"]
        state.unread, state.more = listed["unread"], len(shown) == PAGE
        listing.refresh()

    async def older() -> None:
        try:
            listed = await call(
                session.client.list_notifications(unread=unread, limit=PAGE, before_id=shown[-1]["id"])
            )
        except Refused:
            return
        shown.extend(listed["notifications"])
        state.unread, state.more = listed["unread"], len(listed["notifications"]) == PAGE
        listing.refresh()

    async def mark_read(ident: int) -> None:
        try:
            marked = await call(session.client.mark_notification_read(ident))
        except Refused:
            return
        shown[:] = [marked if n["id"] == ident else n for n in shown if n["id"] != ident or not unread]
        state.unread = max(state.unread - 1, 0)
        listing.refresh()

    async def delete(ident: int) -> None:
        try:
            await call(session.client.delete_notification(ident))
        except Refused:
            return
        gone = next((n for n in shown if n["id"] == ident), None)
        shown[:] = [n for n in shown if n["id"] != ident]
        if gone is not None and gone["read_at"] is None:
            state.unread = max(state.unread - 1, 0)
        listing.refresh()

    async def on_event(event: StreamEvent) -> None:
        if event["kind"] in (SUBSCRIBED, RESET):
            await reload()
        elif event["kind"] == "notification" and "notification" in event:
            arrived = event["notification"]
            if all(n["id"] != arrived["id"] for n in shown):
                shown.insert(0, arrived)
                state.unread += 1
                listing.refresh()

    with ui.column().classes("w-full gap-2 max-w-4xl"):
        listing()
    follow(session, on_event)
