"""Calling the API from a page: refusals shown to the person, an expired session sent to the login page."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from nicegui import ui

from runyard.client import ApiError, ClientError
from runyard.web import sessions

T = TypeVar("T")


class Refused(Exception):
    """The API refused a call (or did not answer); ``text`` says why, for a person."""

    def __init__(self, error: ClientError) -> None:
        super().__init__(str(error))
        self.error = error
        self.text = message(error)
        self.details = error.details if isinstance(error, ApiError) else None


async def call(request: Awaitable[T], *, quiet: bool = False) -> T:
    """Await an SDK call; on a refusal tell the person (a notification, unless ``quiet``: the caller shows
    it, beside a field say) and raise :class:`Refused`.

    A 401 means the session is over: the browser goes to the login page.
    """
    try:
        return await request
    except ApiError as error:
        if error.status == 401:
            sessions.forget()
            ui.navigate.to("/login")
        elif not quiet:
            ui.notify(message(error), type="negative", multi_line=True)
        raise Refused(error) from error
    except ClientError as error:
        if not quiet:
            ui.notify(message(error), type="negative")
        raise Refused(error) from error


def message(error: ClientError) -> str:
    """What to tell a person about a refusal: the API's own message."""
    return error.message if isinstance(error, ApiError) else f"The API did not answer: {error}"
