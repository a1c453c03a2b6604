"""``/login``: the platform's users log in with their password; the session expires as the API's does.

The form is a plain HTML form posted to ``POST /login`` (not a websocket event): only an HTTP answer can
give the browser the new id its session is kept under (see :mod:`runyard.web.sessions`). The post must come
from a page of this origin.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from nicegui import app, ui

from runyard.client import ApiError, ClientError
from runyard.web import sessions

#: Why a login failed, by the code the form's answer puts in the address (never the text itself).
FAILURES = {
    "refused": "wrong user name or password",
    "throttled": "too many failed attempts: wait a minute and try again",
    "unavailable": "the API did not answer; try again",
    "missing": "give your user name and password",
}


def _target(next: str) -> str:
    """Where to go after the login: a path of this site, never another site."""
    return next if next.startswith("/") and not next.startswith("//") and "\\" not in next else "/"


@ui.page("/login", title="Log in · runyard")
async def login(next: str = "/", failed: str = "") -> Response | None:
    target = _target(next)
    if sessions.current() is not None:
        return RedirectResponse(target)
    with ui.card().classes("absolute-center w-80"):
        ui.label("runyard").classes("text-2xl font-bold")
        ui.label("Log in with your runyard account.").classes("text-gray-600")
        form = ui.element("form").props("method=post").classes("w-full flex flex-col gap-2")
        form.props["action"] = f"/login?next={quote(target, safe='')}"
        with form:
            ui.input("User name").props(
                'name=username autofocus autocomplete=username aria-label="User name"'
            ).classes("w-full")
            ui.input("Password", password=True, password_toggle_button=True).props(
                'name=password autocomplete=current-password aria-label="Password"'
            ).classes("w-full")
            ui.label(FAILURES.get(failed, "")).classes("text-negative").props('role="alert"')
            ui.button("Log in").props('type=submit aria-label="Log in"').classes("w-full")
    return None


@app.post("/login", include_in_schema=False)
async def submit(request: Request, next: str = "/") -> Response:
    """Check the password with the API; on success the browser goes on to ``next`` with a new session."""
    if not _from_this_site(request):
        return PlainTextResponse("a login must come from this site's login page", status_code=403)
    target = _target(next)
    form = await request.form()
    user, password = form.get("username"), form.get("password")
    if not isinstance(user, str) or not isinstance(password, str) or not user.strip() or not password:
        return _failed(target, "missing")
    try:
        await sessions.log_in(request, user.strip(), password)
    except ApiError as error:
        return _failed(target, "throttled" if error.status == 429 else "refused")
    except ClientError:
        return _failed(target, "unavailable")
    return RedirectResponse(target, status_code=303)


def _failed(target: str, failure: str) -> Response:
    return RedirectResponse(f"/login?next={quote(target, safe='')}&failed={failure}", status_code=303)


def _from_this_site(request: Request) -> bool:
    """Browsers say where a form was posted from (``Origin``); it must be this origin."""
    origin = request.headers.get("origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" == f"{request.url.scheme}://{request.url.netloc}"
