"""Pages kept up to date by the API's event stream (never by polling), for as long as they are open."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from nicegui import Client, background_tasks, ui

from runyard.client import ApiError, ClientError
from runyard.client.documents import StreamEvent
from runyard.client.events import RESET, SUBSCRIBED
from runyard.web import sessions
from runyard.web.sessions import Session

Handler = Callable[[StreamEvent], Awaitable[None] | None]


def follow(session: Session, handle: Handler, *, job_id: int | None = None, logs: bool = False) -> None:
    """Give ``handle`` each event of the stream (all of the person's, or one job's) while the page is open.

    ``handle`` also gets a ``subscribed`` event when the stream starts and after each reconnection, and a
    ``reset`` event when events were missed: the moments to read the state again. It runs in the page's
    context (it may change the page's elements). The stream is closed when the page goes away; if it
    fails for good, the page says so rather than going stale silently.
    """
    client = ui.context.client

    async def run() -> None:
        try:
            async for event in session.client.events(job_id, subscribed=True, logs=logs):
                with client:
                    outcome = handle(event)
                    if inspect.isawaitable(outcome):
                        await outcome
        except ApiError as error:
            if error.status == 401:
                with client:
                    sessions.forget()
                    ui.navigate.to("/login")
            else:
                _stale(client, str(error))
        except ClientError as error:
            _stale(client, str(error))

    task = background_tasks.create(run(), name="portal events")
    client.on_delete(task.cancel)


def _stale(client: Client, why: str) -> None:
    if client.has_socket_connection:
        with client:
            ui.notify(f"Live updates stopped ({why}); reload the page.", type="warning", timeout=0)


__all__ = ["RESET", "SUBSCRIBED", "follow"]
