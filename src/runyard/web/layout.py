"""The frame every portal page shares (header, navigation, user menu) and the decorator declaring a page.

A page is an ``async`` function taking the :class:`~runyard.web.sessions.Session` as ``session`` and its
path and query parameters as NiceGUI gives them; :func:`page` puts it behind the login (no session: the
login page, which comes back to the page asked for) and inside the frame.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from nicegui import ui

from runyard.web import sessions
from runyard.web.sessions import Session

P = ParamSpec("P")
PageBody = Callable[..., Awaitable[None]]

#: The navigation: (label, path, icon), in the order of the seed's portals.
NAVIGATION = (
    ("Workflow Execution", "/workflows", "play_circle"),
    ("Scheduling", "/jobs", "view_list"),
    ("Job Planner", "/plans", "event"),
    ("Resources", "/resources", "dns"),
    ("Catalog", "/catalog", "inventory_2"),
    ("Service Automation", "/services", "settings_suggest"),
    ("App Engine", "/app-engine", "widgets"),
    ("Job Analytics", "/analytics", "insights"),
    ("Studio", "/studio", "account_tree"),
    ("Notifications", "/notifications", "notifications"),
    ("Credentials", "/credentials", "key"),
)


def page(path: str, title: str) -> Callable[[PageBody], PageBody]:
    """Declare ``path`` as a portal page titled ``title``, shown to logged-in people only."""

    def declare(body: PageBody) -> PageBody:
        signature = inspect.signature(body, eval_str=True)
        wants_request = "request" in signature.parameters
        parameters = [p for name, p in signature.parameters.items() if name not in ("session", "request")]
        parameters.insert(0, inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request))

        async def show(**arguments: Any) -> Response | None:
            request: Request = arguments["request"] if wants_request else arguments.pop("request")
            session = sessions.current()
            if session is None:
                return RedirectResponse(login_url(request))
            with frame(session, title):
                await body(session=session, **arguments)
            return None

        show.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters]
        )
        show.__name__ = body.__name__
        ui.page(path, title=f"{title} · runyard")(show)
        return body

    return declare


def login_url(request: Request) -> str:
    """The login page, coming back to what ``request`` asked for."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"


@contextmanager
def frame(session: Session, title: str) -> Iterator[None]:
    """Header with the navigation and the user's menu; yields inside the page's main column."""
    with ui.header().classes("items-center bg-slate-800 py-1 px-3 gap-1 flex-wrap"):
        ui.link("runyard", "/").classes("text-white text-lg font-bold no-underline mr-3")
        for label, path, icon in NAVIGATION:
            with ui.link(target=path).classes(
                "text-white no-underline flex items-center gap-1 px-2 py-1 rounded text-sm hover:bg-slate-600"
            ):
                ui.icon(icon, size="xs")
                ui.label(label)
        ui.space()
        with (
            ui.button(session.user, icon="account_circle").props(
                'flat dense no-caps color=white aria-label="Account"'
            ),
            ui.menu(),
        ):
            ui.menu_item(f"{session.user} ({'admin' if session.admin else 'user'})").props("disable")
            ui.menu_item("API documentation", lambda: ui.navigate.to("/api/v1/docs", new_tab=True)).props(
                "role=menuitem"
            )
            ui.menu_item("Log out", _log_out).props("role=menuitem")
    with ui.column().classes("w-full p-4 gap-3"):
        ui.label(title).classes("text-2xl font-semibold").props('role="heading" aria-level="1"')
        yield


async def _log_out() -> None:
    await sessions.log_out()
    ui.navigate.to("/login")
