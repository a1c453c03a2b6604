"""``runyard notifications``: what the server told you (a model server's drift...); read, delete.

Called alone it lists your notifications, newest first; ``read ID`` and ``delete ID`` change one.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from runyard.cli.remote import Json, Token, Url, connected, err, local_time, out, print_json
from runyard.cli.tables import new_table, show
from runyard.store.notifications import MAX_PAGE

notifications_app = typer.Typer(
    help="Your notifications: a model server's drift, and what else the platform tells you."
)

NotificationId = Annotated[int, typer.Argument(min=1, help="Notification id (see `runyard notifications`).")]


@notifications_app.callback(invoke_without_command=True)
def notifications(
    ctx: typer.Context,
    unread: Annotated[bool, typer.Option("--unread", help="Only the unread ones.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_PAGE, help="At most this many.")] = 50,
    json_output: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List your notifications, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    with connected(url, token) as client:
        found = client.list_notifications(unread=unread, limit=limit)
    if json_output:
        print_json(found)
        return
    table = new_table("id", "time", "kind", "title", "source", "read", title=f"{found['unread']} unread")
    for notification in found["notifications"]:
        table.add_row(
            str(notification["id"]),
            local_time(notification["created_at"]),
            escape(notification["kind"]),
            escape(notification["title"]),
            escape(notification["source"]),
            "" if notification["read_at"] is None else "yes",
        )
    show(out, table)


@notifications_app.command("read")
def read(notification_id: NotificationId, url: Url = None, token: Token = None) -> None:
    """Mark a notification read, and print its message and details."""
    with connected(url, token) as client:
        notification = client.mark_notification_read(notification_id)
    out.print(
        f"[bold]{escape(notification['title'])}[/bold] ({escape(notification['kind'])}, "
        f"{escape(notification['source'])}, {local_time(notification['created_at'])})"
    )
    if notification["message"]:
        out.print(escape(notification["message"]))
    if notification["details"]:
        print_json(notification["details"])


@notifications_app.command("delete")
def delete(notification_id: NotificationId, url: Url = None, token: Token = None) -> None:
    """Delete a notification."""
    with connected(url, token) as client:
        client.delete_notification(notification_id)
    err.print(f"deleted notification {notification_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(notifications_app, name="notifications")
