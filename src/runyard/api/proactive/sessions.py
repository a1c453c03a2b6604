"""Logging in and out as ProActive's clients do: ``/rest/common``, ``/rest/scheduler`` and ``/rest/rm``.

The session id is the token of ``POST /api/v1/sessions`` (same throttle, same lifetime): a ProActive
client's session works on runyard's own API and the other way round. Logging in answers the session
id as text; a wrong password ProActive's ``LoginException`` (404, as ProActive answers it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import PlainTextResponse
from starlette.datastructures import UploadFile

from runyard.api.deps import ConfigDep, EngineDep
from runyard.api.errors import ApiError
from runyard.api.proactive.common import (
    LOGIN_EXCEPTION,
    ProActiveError,
    ProActiveUser,
    proactive_router,
)
from runyard.api.routers import sessions
from runyard.api.security import token_of, user_of

common = proactive_router(prefix="/rest/common")
scheduler = proactive_router(prefix="/rest/scheduler")
rm = proactive_router(prefix="/rest/rm")

MAX_NAME = 255
MAX_PASSWORD = 1024


async def _login_form(request: Request) -> tuple[str, str]:
    """``username`` and ``password`` of a urlencoded or multipart form (ProActive's ``LoginForm``)."""
    async with request.form(max_files=1, max_fields=8) as form:
        if isinstance(form.get("credential"), UploadFile) and not form.get("password"):
            raise ProActiveError(
                404,
                "ProActive credential files are encrypted with the key of the ProActive server that "
                "made them: log in with username and password",
                LOGIN_EXCEPTION,
            )
        username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise ProActiveError(404, "give the form fields username and password", LOGIN_EXCEPTION)
    if len(username) > MAX_NAME or len(password) > MAX_PASSWORD:
        raise ProActiveError(404, "the user name or the password is too long", LOGIN_EXCEPTION)
    return username, password


LoginForm = Annotated[tuple[str, str], Depends(_login_form)]


async def _session_id(credentials: LoginForm, request: Request, engine: EngineDep, config: ConfigDep) -> str:
    username, password = credentials
    try:
        session = await sessions.login_form(username, password, request, engine, config)
    except ApiError as error:
        if error.status != 401:
            raise
        raise ProActiveError(
            404, "Authentication failed: wrong user name or password", LOGIN_EXCEPTION
        ) from None
    return session.token


SessionId = Annotated[str, Depends(_session_id)]


@common.post("/login", response_class=PlainTextResponse)
@scheduler.post("/login", response_class=PlainTextResponse)
@rm.post("/login", response_class=PlainTextResponse)
def login(session_id: SessionId) -> str:
    """Log in with a form (urlencoded or multipart) ``username``, ``password``: the session id, as text."""
    return session_id


@scheduler.put("/session", response_class=PlainTextResponse)
async def login_or_renew(request: Request, engine: EngineDep, config: ConfigDep) -> str:
    """The ``sessionid`` header's session while it is valid, else a new one from the form."""
    token = token_of(request)
    if token is not None:
        try:
            await user_of(request, engine, token)
        except ApiError:
            pass
        else:
            return token
    return await _session_id(await _login_form(request), request, engine, config)


@common.get("/connected")
@scheduler.get("/isconnected")
@rm.get("/isactive")
async def is_connected(request: Request, engine: EngineDep) -> bool:
    """Whether the ``sessionid`` header holds a live session (``false``, never an error, otherwise)."""
    token = token_of(request)
    if token is None:
        return False
    try:
        await user_of(request, engine, token)
    except ApiError:
        return False
    return True


@common.get("/currentuser", response_class=PlainTextResponse)
def current_user(user: ProActiveUser) -> str:
    return user.name


@common.put("/logout", status_code=204)
@scheduler.put("/disconnect", status_code=204)
@rm.post("/disconnect", status_code=204)
def logout(request: Request, user: ProActiveUser, engine: EngineDep) -> None:
    """End the ``sessionid`` header's session (on runyard's API too)."""
    sessions.logout(request, user, engine)
